/**
 * `npm run bench`: runs the benchmarks one after another on this machine, each against a fake Together API and a
 * freshly started server, then writes bench/results/<scenario>.json and docs/benchmarks.md.
 *
 *   npm run bench                               every scenario
 *   npm run bench -- --only parallel,memory     some of them, by name
 *   npm run bench -- --report                   only rebuild docs/benchmarks.md from the JSON files
 *
 * A new scenario is one file in bench/ exporting a Scenario (see report.ts and bench/README.md) and one line below.
 */
import { memory } from './memory.js';
import { parallelEfficiency } from './parallel-efficiency.js';
import { rateLimited } from './rate-limited.js';
import { loadAverage, machine, type Scenario, saveResult, writeReport } from './report.js';
import { serverOverhead } from './server-overhead.js';
import { sideBySide } from './side-by-side.js';
import { buildProject } from './support/compile.js';

/** The registry: run and reported in this order. */
const SCENARIOS: ReadonlyArray<Scenario<unknown>> = [
  parallelEfficiency,
  sideBySide,
  serverOverhead,
  memory,
  rateLimited,
];

function chosenScenarios(argv: readonly string[]): ReadonlyArray<Scenario<unknown>> {
  if (argv.includes('--report')) return [];
  const index = argv.indexOf('--only');
  if (index === -1) return SCENARIOS;
  const names = (argv[index + 1] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const chosen = SCENARIOS.filter((scenario) => names.includes(scenario.name));
  if (names.length === 0 || chosen.length !== names.length) {
    const known = SCENARIOS.map((scenario) => scenario.name).join(', ');
    throw new TypeError(`--only takes a comma-separated list of ${known}; got "${argv[index + 1] ?? ''}"`);
  }
  return chosen;
}

const scenarios = chosenScenarios(process.argv.slice(2));
// The server is measured as `npm start` runs it: compiled, from dist/ (BENCH_SERVER_ENTRY may name another build).
if (scenarios.length > 0 && !process.env.BENCH_SERVER_ENTRY) buildProject();
const host = machine();
console.log(`benchmarks on ${host.cpuModel}, ${host.cores} cores, ${host.memoryGiB} GiB, Node ${host.node}`);
if (loadAverage() > host.cores / 2) {
  console.log(`note: load average ${loadAverage()} on ${host.cores} cores: other work will skew the timings`);
}
const started = performance.now();

for (const scenario of scenarios) {
  console.log(`\n${scenario.title}`);
  const scenarioStarted = performance.now();
  const before = loadAverage();
  const result = await scenario.run();
  const durationMs = Math.round(performance.now() - scenarioStarted);
  const after = loadAverage();
  saveResult(scenario.name, {
    ranAt: new Date().toISOString(),
    machine: host,
    durationMs,
    loadAverage: { before, after },
    result,
  });
  console.log(`  (${(durationMs / 1000).toFixed(1)} s, load average ${before} -> ${after})`);
}

console.log(`\n${writeReport(SCENARIOS)}`);
const wrote = scenarios.length > 0 ? 'bench/results/*.json and ' : '';
console.log(`\nwrote ${wrote}docs/benchmarks.md in ${((performance.now() - started) / 1000).toFixed(0)} s`);
