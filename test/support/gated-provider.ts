import { ProviderError } from '../../src/providers/provider-error.js';
import type { ImageProvider, ProviderRequest } from '../../src/providers/types.js';
import { tinyPng } from './test-images.js';

/**
 * A provider whose images finish only when the test says so, so a test can look at a job mid-flight without
 * sleeping. Aborts are honoured like a real upstream call.
 */
export interface GatedProvider extends ImageProvider {
  /** Requests currently waiting for release. */
  readonly waiting: ProviderRequest[];
  /** Finishes the oldest `count` waiting requests (all when omitted). */
  release(count?: number): void;
  /** Lets every request, current and future, finish at once. */
  open(): void;
  /** Holds future requests again. */
  shut(): void;
  /** Resolves once at least `count` requests are waiting. */
  whenWaiting(count: number): Promise<void>;
  readonly calls: number;
}

export function createGatedProvider(): GatedProvider {
  const waiting: Array<{ request: ProviderRequest; finish: () => void }> = [];
  const watchers: Array<() => void> = [];
  let opened = false;
  let calls = 0;
  const notify = () => watchers.splice(0).forEach((watch) => watch());

  return {
    name: 'local',
    placeholder: true,
    get waiting() {
      return waiting.map((entry) => entry.request);
    },
    get calls() {
      return calls;
    },
    async generate(request, signal) {
      calls += 1;
      if (!opened) {
        await new Promise<void>((resolve, reject) => {
          const entry = {
            request,
            finish: () => {
              signal.removeEventListener('abort', onAbort);
              resolve();
            },
          };
          const onAbort = () => {
            const index = waiting.indexOf(entry);
            if (index >= 0) waiting.splice(index, 1);
            reject(new ProviderError('aborted', { code: 'CANCELLED', retryable: false, reason: 'aborted' }));
          };
          signal.addEventListener('abort', onAbort, { once: true });
          waiting.push(entry);
          notify();
        });
      }
      return { mimeType: 'image/png', bytes: tinyPng(`${request.prompt}|${request.seed ?? ''}`) };
    },
    release(count = waiting.length) {
      waiting.splice(0, count).forEach((entry) => entry.finish());
    },
    open() {
      opened = true;
      this.release();
    },
    shut() {
      opened = false;
    },
    whenWaiting(count) {
      return new Promise((resolve) => {
        const check = () => (waiting.length >= count ? resolve() : watchers.push(check));
        check();
      });
    },
    async close() {
      this.open();
    },
  };
}
