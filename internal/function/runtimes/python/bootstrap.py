"""forkline's Python runtime: runs a handler "module.function" from
LAMBDA_TASK_ROOT through the Lambda Runtime API, as AWS's python runtimes do
(handler resolution, the context object, error documents)."""
import importlib
import json
import os
import socket
import sys
import time
import traceback

PREFIX = "/2018-06-01/runtime/"
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
VERSION = "%d.%d" % sys.version_info[:2]
sys.path[:0] = [TASK_ROOT, "/opt/python", "/opt/python/lib/python%s/site-packages" % VERSION]


class RuntimeAPI:
    """A minimal HTTP/1.1 client for the Runtime API on one keep-alive
    connection for the sandbox's life. The Runtime API is a loopback
    service with a fixed, small protocol: a hand-written exchange costs a
    third of http.client's, which shows on every invocation."""

    def __init__(self, hostport):
        host, _, port = hostport.rpartition(":")
        self.addr = (host.strip("[]"), int(port))
        self.hostport = hostport
        self.sock = self.rfile = None

    def close(self):
        if self.sock is not None:
            self.rfile.close()
            self.sock.close()
        self.sock = self.rfile = None

    def request(self, method, path, body=b"", headers=None):
        """Makes one call and returns (status, headers, body); reconnects
        once if the kept connection was closed."""
        head = ["%s %s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (method, PREFIX, path, self.hostport, len(body))]
        for k, v in (headers or {}).items():
            head.append("%s: %s\r\n" % (k, v))
        head.append("\r\n")
        data = "".join(head).encode("latin-1") + body
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(self.addr)
                    self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self.rfile = self.sock.makefile("rb")
                self.sock.sendall(data)
                return self._response()
            except (OSError, ValueError):
                self.close()
                if attempt:
                    raise

    def _response(self):
        f = self.rfile
        line = f.readline(65537)
        if not line:
            raise ConnectionResetError("the Runtime API closed the connection")
        status = int(line.split(None, 2)[1])
        h = {}
        while True:
            line = f.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            h[k.strip().lower()] = v.strip()
        if "content-length" in h:
            body = f.read(int(h["content-length"]))
        elif h.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(f.readline(65537).split(b";")[0], 16)
                if size == 0:
                    while f.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(f.read(size))
                f.readline(65537)
            body = b"".join(parts)
        else:
            body = f.read()
            self.close()
        if h.get("connection", "").lower() == "close":
            self.close()
        return status, h, body


API = RuntimeAPI(os.environ["AWS_LAMBDA_RUNTIME_API"])


def post(path, body, headers=None):
    API.request("POST", path, body, headers)


def error_doc(etype, message, request_id="", trace=None):
    return {"errorMessage": message, "errorType": etype, "requestId": request_id, "stackTrace": trace or []}


class FaultError(Exception):
    def __init__(self, etype, message, trace=None):
        super().__init__(message)
        self.etype, self.message, self.trace = etype, message, trace or []


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultError("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    if modname.split(".")[0] in sys.builtin_module_names:
        raise FaultError("Runtime.BuiltInModuleConflict", "Cannot use built-in module %s as a handler module" % modname)
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultError("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        raise FaultError("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e),
                         ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, (e.text or "").strip())])
    fn = getattr(module, fname, None)
    if fn is None:
        raise FaultError("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))
    return fn


class Obj:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class LambdaContext:
    def __init__(self, request_id, deadline_ms, arn, client_context, identity):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = arn
        self._deadline_ms = deadline_ms
        self.client_context = None
        self.identity = None
        if client_context:
            cc = json.loads(client_context)
            self.client_context = Obj(custom=cc.get("custom"), env=cc.get("env"), client=Obj(**(cc.get("client") or {})))
        if identity:
            ci = json.loads(identity)
            self.identity = Obj(cognito_identity_id=ci.get("cognitoIdentityId"),
                                cognito_identity_pool_id=ci.get("cognitoIdentityPoolId"))

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()


def main():
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except FaultError as e:
        sys.stdout.write("[ERROR] %s: %s\n" % (e.etype, e.message))
        post("init/error", json.dumps(error_doc(e.etype, e.message, "", e.trace)).encode(),
             {"Lambda-Runtime-Function-Error-Type": e.etype})
        sys.exit(1)
    while True:
        _, h, body = API.request("GET", "invocation/next")
        rid = h["lambda-runtime-aws-request-id"]
        trace = h.get("lambda-runtime-trace-id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        ctx = LambdaContext(rid, int(h.get("lambda-runtime-deadline-ms", "0")), h.get("lambda-runtime-invoked-function-arn"),
                            h.get("lambda-runtime-client-context"), h.get("lambda-runtime-cognito-identity"))
        try:
            event = json.loads(body) if body else None
            result = handler(event, ctx)
            try:
                out = json.dumps(result).encode()
            except (TypeError, ValueError) as e:
                raise FaultError("Runtime.MarshalError", "Unable to marshal response: %s" % e)
            post("invocation/%s/response" % rid, out)
        except FaultError as e:
            doc = error_doc(e.etype, e.message, rid, e.trace)
            sys.stdout.write("[ERROR] %s: %s\n" % (e.etype, e.message))
            post("invocation/%s/error" % rid, json.dumps(doc).encode(), {"Lambda-Runtime-Function-Error-Type": e.etype})
        except Exception as e:
            tb = traceback.extract_tb(e.__traceback__)[1:]
            doc = error_doc(type(e).__name__, str(e), rid, traceback.format_list(tb))
            sys.stdout.write("[ERROR] %s: %s\n%s" % (type(e).__name__, e, "".join(traceback.format_list(tb))))
            post("invocation/%s/error" % rid, json.dumps(doc).encode(),
                 {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
        sys.stdout.flush()


if __name__ == "__main__":
    main()
