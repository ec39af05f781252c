// A second opinion on the conformance corpus: runs cases through
// aws-local-stepfunctions and prints their results.
//
//	node run.mjs CASES.json > RESULTS.json
//
// CASES.json is an array of {name, definition, input, taskResults?,
// taskErrors?}; each result is {name, status, output?, error?, cause?}.
// Task states answer from taskResults or taskErrors by state name; Wait
// states and Retry intervals take no time.

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22) in its
// Task states; Node 20 lacks it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new this((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
import fs from 'node:fs';
const { StateMachine, ExecutionError } = await import('aws-local-stepfunctions');

function statesOf(def, acc = { wait: [], retry: [] }) {
  for (const [name, st] of Object.entries(def?.States ?? {})) {
    if (st.Type === 'Wait') acc.wait.push(name);
    if (st.Retry) acc.retry.push(name);
    for (const b of st.Branches ?? []) statesOf(b, acc);
    if (st.Iterator) statesOf(st.Iterator, acc);
    if (st.ItemProcessor) statesOf(st.ItemProcessor, acc);
  }
  return acc;
}

async function run(c) {
  const s = statesOf(c.definition);
  const handlers = {};
  for (const [name, v] of Object.entries(c.taskResults ?? {})) handlers[name] = () => structuredClone(v);
  for (const [name, e] of Object.entries(c.taskErrors ?? {})) {
    handlers[name] = () => {
      const err = new Error(e.Cause ?? '');
      err.name = e.Error ?? 'Error';
      throw err;
    };
  }
  const overrides = {
    waitTimeOverrides: Object.fromEntries(s.wait.map((n) => [n, 0])),
    retryIntervalOverrides: Object.fromEntries(s.retry.map((n) => [n, 0])),
    taskResourceLocalHandlers: handlers,
  };
  try {
    const machine = new StateMachine(c.definition, { validationOptions: { checkArn: false } });
    const output = await machine.run(c.input ?? {}, { overrides }).result;
    return { name: c.name, status: 'SUCCEEDED', output };
  } catch (err) {
    if (err instanceof ExecutionError) return { name: c.name, status: 'FAILED', error: err.cause?.name, cause: err.cause?.message };
    return { name: c.name, status: 'FAILED', error: 'Refused:' + (err?.name ?? 'Error'), cause: String(err?.message ?? err) };
  }
}

const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const results = [];
for (const c of cases) results.push(await run(c));
process.stdout.write(JSON.stringify(results) + '\n');
