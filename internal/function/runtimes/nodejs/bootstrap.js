// forkline's Node.js runtime: runs a handler "path/module.function" from
// LAMBDA_TASK_ROOT through the Lambda Runtime API, as AWS's nodejs runtimes
// do (module resolution, the context object, callback and async handlers,
// error documents).
"use strict";
const http = require("http");
const fs = require("fs");
const path = require("path");
const { pathToFileURL } = require("url");

const [HOST, PORT] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const ROOT = process.env.LAMBDA_TASK_ROOT || process.cwd();

function call(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port: PORT, method, path: "/2018-06-01/runtime/" + p,
      headers: Object.assign({ "Content-Type": "application/json" }, headers || {}) }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

class RuntimeError extends Error {
  constructor(type, message) { super(message); this.name = "Runtime." + type; }
}

function errorDoc(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  return JSON.stringify({ errorType: e.name || "Error", errorMessage: e.message,
    trace: (e.stack || "").split("\n") });
}

async function loadHandler(handler) {
  if (handler.includes("..")) {
    throw new RuntimeError("MalformedHandlerName", `'${handler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  const dir = path.dirname(handler) === "." ? "" : path.dirname(handler);
  const m = /^([^.]*)\.(.*)$/.exec(path.basename(handler));
  if (!m) throw new RuntimeError("MalformedHandlerName", "Bad handler");
  const [, mod, fnPath] = m;
  const base = path.join(ROOT, dir, mod);
  let exported;
  const exists = (f) => { try { return fs.statSync(f).isFile(); } catch { return false; } };
  try {
    if (exists(base + ".mjs")) exported = await import(pathToFileURL(base + ".mjs").href);
    else if (exists(base + ".js") && isESM(path.dirname(base))) exported = await import(pathToFileURL(base + ".js").href);
    else if (exists(base) || exists(base + ".js") || exists(base + ".cjs")) exported = require(exists(base + ".cjs") && !exists(base + ".js") ? base + ".cjs" : base);
    else exported = require(require.resolve(mod, { paths: [ROOT, path.join(ROOT, dir)] }));
  } catch (e) {
    if (e instanceof SyntaxError) throw new RuntimeError("UserCodeSyntaxError", String(e));
    if (e.code === "MODULE_NOT_FOUND" || e.code === "ERR_MODULE_NOT_FOUND") throw new RuntimeError("ImportModuleError", String(e));
    throw e;
  }
  let fn = exported;
  for (const part of fnPath.split(".")) fn = fn == null ? undefined : fn[part];
  if (!fn) throw new RuntimeError("HandlerNotFound", `${handler} is undefined or not exported`);
  if (typeof fn !== "function") throw new RuntimeError("HandlerNotFound", `${handler} is not a function`);
  return fn;
}

function isESM(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    try { return JSON.parse(fs.readFileSync(path.join(d, "package.json"), "utf8")).type === "module"; } catch {}
    if (d === path.dirname(d)) return false;
  }
}

function invoke(fn, event, headers) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (err, result) => {
      if (done) { console.log("Invocation has already been reported as done. Cannot call complete more than once per invocation."); return; }
      done = true;
      resolve({ err, result });
    };
    const deadline = Number(headers["lambda-runtime-deadline-ms"]);
    let waits = true;
    const context = {
      awsRequestId: headers["lambda-runtime-aws-request-id"],
      invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: headers["lambda-runtime-client-context"] ? JSON.parse(headers["lambda-runtime-client-context"]) : undefined,
      identity: headers["lambda-runtime-cognito-identity"] ? JSON.parse(headers["lambda-runtime-cognito-identity"]) : undefined,
      getRemainingTimeInMillis: () => deadline - Date.now(),
      get callbackWaitsForEmptyEventLoop() { return waits; },
      set callbackWaitsForEmptyEventLoop(v) { waits = v; },
      succeed: (r) => finish(null, r), fail: (e) => finish(e || new Error("handled"), undefined), done: (e, r) => finish(e, r),
    };
    const callback = (err, result) => {
      if (err || !waits) finish(err, result);
      else setImmediate(() => finish(null, result)); // after pending callbacks, a practical stand-in for an empty event loop
    };
    try {
      const r = fn(event, context, callback);
      if (r && typeof r.then === "function") r.then((v) => finish(null, v), (e) => finish(e || new Error("rejected"), undefined));
      else if (fn.length < 3) setImmediate(() => finish(null, r === undefined ? null : r));
    } catch (e) {
      finish(e, undefined);
    }
  });
}

async function main() {
  let fn;
  try {
    fn = await loadHandler(process.env._HANDLER || "");
  } catch (e) {
    console.error(`${new Date().toISOString()}\tundefined\tERROR\t${e.stack || e}`);
    await call("POST", "init/error", errorDoc(e), { "Lambda-Runtime-Function-Error-Type": e.name || "Runtime.Unknown" });
    process.exit(1);
  }
  for (;;) {
    const next = await call("GET", "invocation/next");
    const id = next.headers["lambda-runtime-aws-request-id"];
    if (next.headers["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"];
    else delete process.env._X_AMZN_TRACE_ID;
    const { err, result } = await invoke(fn, next.body ? JSON.parse(next.body) : null, next.headers);
    if (err) {
      console.error(`${new Date().toISOString()}\t${id}\tERROR\t${err && err.stack || err}`);
      await call("POST", `invocation/${id}/error`, errorDoc(err), { "Lambda-Runtime-Function-Error-Type": (err && err.name) || "Error" });
    } else {
      await call("POST", `invocation/${id}/response`, JSON.stringify(result === undefined ? null : result));
    }
  }
}

main();
