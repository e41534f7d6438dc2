/**
 * A PROTOTYPE, for measurement only: what the side-by-side benchmark compares the server's current 429 handling
 * against. It wraps the real Together provider, so the server runs unchanged around it (the service, limiter, job
 * store and schema are src/'s own); the server process uses it only when BENCH_PROTOTYPE=completion-clocked.
 *
 * Today a 429 makes the image sleep the whole retry-after outside the limiter, even while other requests of this
 * process are still in flight and about to free capacity. When the server sent a whole batch at once (concurrency
 * >= batch size), every refused image then waits out retry-after while the accepted ones finish and the upstream sits
 * idle. Here, a request refused with 429 while others are in flight waits instead for one of those to succeed, then
 * tries again at once: its retries are clocked by completions, as TCP's are by acknowledgements. With nothing else
 * in flight, or after MAX_CLOCKED_RETRIES such retries, the 429 goes to the service as before and retry-after applies.
 */
import { ProviderError } from '../../src/providers/provider-error.js';
import type { ImageProvider, ProviderRequest } from '../../src/providers/types.js';

const MAX_CLOCKED_RETRIES = 4;

export function completionClocked(provider: ImageProvider): ImageProvider {
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  const wakeOne = (): void => waiting.shift()?.();

  async function generate(request: ProviderRequest, signal: AbortSignal) {
    for (let clockedRetries = 0; ; clockedRetries += 1) {
      inFlight += 1;
      let refused = false;
      try {
        const image = await provider.generate(request, signal);
        inFlight -= 1;
        wakeOne();
        return image;
      } catch (error) {
        inFlight -= 1;
        refused = error instanceof ProviderError && error.code === 'RATE_LIMITED';
        if (!refused) wakeOne();
        if (!refused || inFlight === 0 || clockedRetries >= MAX_CLOCKED_RETRIES || signal.aborted) {
          // No one left to clock us: let the service wait retry-after, and do not strand whoever is waiting.
          if (inFlight === 0) wakeOne();
          throw error;
        }
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          resolve();
        };
        waiting.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
      if (signal.aborted) throw signal.reason;
    }
  }

  return { name: provider.name, placeholder: provider.placeholder, generate, close: () => provider.close() };
}
