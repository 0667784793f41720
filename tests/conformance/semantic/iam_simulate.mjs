// Second IAM engine for check-45: @cloud-copilot/iam-simulate's runSimulation
// (validated requests), one JSON simulation per input line, one JSON answer per
// output line: {resultType, overallResult, errors, ignoredContextKeys}.
//
// Usage: node iam_simulate.mjs NODE_PROJECT_DIR   (where `npm ci` installed it)
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const dir = process.argv[2];
const entry = path.join(dir, 'node_modules/@cloud-copilot/iam-simulate/dist/esm/index.js');
const { runSimulation } = await import(pathToFileURL(entry).href);

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const r = await runSimulation(JSON.parse(line), {});
    answer = {
      resultType: r.resultType,
      overallResult: r.overallResult ?? null,
      errors: r.errors ?? null,
      ignoredContextKeys: r.result?.ignoredContextKeys ?? [],
    };
  } catch (e) {
    answer = { resultType: 'exception', overallResult: null, errors: { message: String(e) }, ignoredContextKeys: [] };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
