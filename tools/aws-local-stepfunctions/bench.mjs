// The engine baseline of bench/sfnload: aws-local-stepfunctions interprets a state
// machine in this Node process, as fast as it can, one execution after the
// other (it is single-threaded, so concurrency does not raise its rate).
//
//	node bench.mjs DEFINITION.json INPUT.json SECONDS
//
// Prints {"rate": executions per second, "n": executions}.
import fs from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';

const [defPath, inPath, seconds] = process.argv.slice(2);
const definition = JSON.parse(fs.readFileSync(defPath, 'utf8'));
const input = JSON.parse(fs.readFileSync(inPath, 'utf8'));
const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });

async function loop(ms) {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await machine.run(input).result;
    n++;
  }
  return n;
}

await loop(500); // warm up the JIT
const start = performance.now();
const n = await loop(Number(seconds) * 1000);
const rate = n / ((performance.now() - start) / 1000);
console.log(JSON.stringify({ rate, n }));
