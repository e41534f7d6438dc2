/**
 * How much the shared limiter buys: the same 10 images against the fake Together at 500 ms per image, once with
 * concurrency 8 and once one after another (concurrency 1), through the real service and provider.
 * Run: npx tsx bench/parallel-vs-sequential.ts
 */
import { imageRequests, startGenerationHarness } from '../test/support/generation-harness.js';

const IMAGES = 10;
const LATENCY_MS = 500;

async function measure(concurrency: number): Promise<{ wallMs: number; maxInFlight: number; successful: number }> {
  const harness = await startGenerationHarness({ concurrency, fake: { latencyMs: LATENCY_MS } });
  try {
    // One warm-up request, so both runs start with the connection set up and the code loaded.
    await harness.service.generateBatch(imageRequests(1, 'warm-up'));
    harness.fake.reset();
    const started = performance.now();
    const batch = await harness.service.generateBatch(imageRequests(IMAGES));
    const wallMs = performance.now() - started;
    return { wallMs, maxInFlight: harness.fake.maxInFlight, successful: batch.stats.successful };
  } finally {
    await harness.close();
  }
}

const parallel = await measure(8);
const sequential = await measure(1);

const row = (name: string, run: typeof parallel) =>
  `${name.padEnd(26)} ${`${Math.round(run.wallMs)} ms`.padStart(9)}   max in flight ${run.maxInFlight}   succeeded ${run.successful}/${IMAGES}`;
console.log(`${IMAGES} images, fake Together at ${LATENCY_MS} ms per image`);
console.log(row('concurrency 8 (parallel)', parallel));
console.log(row('concurrency 1 (sequential)', sequential));
console.log(`speed-up: ${(sequential.wallMs / parallel.wallMs).toFixed(2)}x`);
