/**
 * `npm run bench`: runs the benchmarks one after another on this machine, each against a fake Together API and a
 * freshly started server, then writes bench/results/*.json, the chart and docs/benchmarks.md.
 *
 *   npm run bench                               all scenarios
 *   npm run bench -- --only parallel,memory     some of: parallel, side-by-side, overhead, memory
 *   npm run bench -- --report                   only rebuild the chart and docs/benchmarks.md from the JSON files
 */
import { runMemory } from './memory.js';
import { runParallelEfficiency } from './parallel-efficiency.js';
import { loadAverage, loadResults, machine, saveResult, writeReport } from './report.js';
import { runServerOverhead } from './server-overhead.js';
import { runSideBySide } from './side-by-side.js';

const SCENARIOS = {
  parallel: { key: 'parallel', run: runParallelEfficiency },
  'side-by-side': { key: 'sideBySide', run: runSideBySide },
  overhead: { key: 'overhead', run: runServerOverhead },
  memory: { key: 'memory', run: runMemory },
} as const;

type ScenarioName = keyof typeof SCENARIOS;

function chosenScenarios(argv: readonly string[]): ScenarioName[] {
  if (argv.includes('--report')) return [];
  const index = argv.indexOf('--only');
  if (index === -1) return Object.keys(SCENARIOS) as ScenarioName[];
  const names = (argv[index + 1] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !(name in SCENARIOS));
  if (names.length === 0 || unknown.length > 0) {
    throw new TypeError(
      `--only takes a comma-separated list of ${Object.keys(SCENARIOS).join(', ')}; got "${argv[index + 1] ?? ''}"`,
    );
  }
  return names as ScenarioName[];
}

const scenarios = chosenScenarios(process.argv.slice(2));
const host = machine();
console.log(`benchmarks on ${host.cpuModel}, ${host.cores} cores, ${host.memoryGiB} GiB, Node ${host.node}`);
if (loadAverage() > host.cores / 2) {
  console.log(`note: load average ${loadAverage()} on ${host.cores} cores: other work will skew the timings`);
}
const started = performance.now();

for (const name of scenarios) {
  const scenario = SCENARIOS[name];
  console.log(`\n${name}`);
  const scenarioStarted = performance.now();
  const before = loadAverage();
  const result = await scenario.run();
  const durationMs = Math.round(performance.now() - scenarioStarted);
  const after = loadAverage();
  saveResult(scenario.key, {
    ranAt: new Date().toISOString(),
    machine: host,
    durationMs,
    loadAverage: { before, after },
    result,
  });
  console.log(`  (${(durationMs / 1000).toFixed(1)} s, load average ${before} -> ${after})`);
}

const summary = writeReport(loadResults());
console.log(`\n${summary}`);
const wrote = scenarios.length > 0 ? 'bench/results/*.json, ' : '';
console.log(
  `\nwrote ${wrote}bench/results/benchmarks.svg and docs/benchmarks.md in ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
