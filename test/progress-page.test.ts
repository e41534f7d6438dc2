import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/providers/provider-error.js';
import type { ImageProvider } from '../src/providers/types.js';
import { createProgressPageRoute, PROGRESS_PAGE_CSP } from '../src/web/progress-page-route.js';
import { collectPageProblems, launchChromium } from './support/browser.js';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import { tinyPng } from './support/test-images.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/** The server with the progress page at `/`, built in memory from src/web (no prior `npm run build:web`). */
function startPageServer(environment: Record<string, string> = {}, provider?: ImageProvider): Promise<TestServer> {
  return startTestServer(environment, {
    ...(provider ? { provider } : {}),
    routes: [createProgressPageRoute({ graphqlPath: '/graphql' })],
  });
}

function originOf(server: TestServer): string {
  return new URL(server.url).origin;
}

async function openPage(browser: Browser, server: TestServer, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = collectPageProblems(page);
  const sockets: string[] = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  await page.goto(`${originOf(server)}/`);
  await page.locator('#worksheet-json').waitFor();
  return { page, problems, sockets, close: () => context.close() };
}

async function waitForText(page: Page, selector: string, text: string | RegExp): Promise<void> {
  await page.locator(selector).filter({ hasText: text }).first().waitFor({ timeout: 15_000 });
}

/** Waits until every picture on the page has been decoded, so a screenshot shows them all. */
async function imagesDecoded(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    [...document.querySelectorAll<HTMLImageElement>('.card img')].every(
      (image) => image.complete && image.naturalWidth > 0,
    ),
  );
}

async function cardStates(page: Page): Promise<Record<string, string>> {
  return page.$$eval('.card', (cards) =>
    Object.fromEntries(cards.map((card) => [(card as HTMLElement).dataset.id, (card as HTMLElement).dataset.state])),
  );
}

describe('the progress page over HTTP', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startPageServer();
  });

  afterAll(async () => {
    await server?.close();
  });

  it('serves the page, its script and its stylesheet with their content types, cache headers and a strict CSP', async () => {
    const origin = originOf(server);
    const page = await fetch(`${origin}/`);
    const html = await page.text();

    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toBe(PROGRESS_PAGE_CSP);
    expect(PROGRESS_PAGE_CSP).toContain("default-src 'self'");
    expect(PROGRESS_PAGE_CSP).toContain("connect-src 'self' ws: wss:");
    expect(PROGRESS_PAGE_CSP).toContain("img-src 'self' data:");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html).toContain('<meta name="worksheet-images:graphql-path" content="/graphql">');
    expect(html).not.toMatch(/https?:\/\//);

    const scriptUrl = /<script type="module" src="([^"]+)"/.exec(html)?.[1] ?? '';
    const styleUrl = /<link rel="stylesheet" href="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(scriptUrl).toMatch(/^\/app\.js\?v=[0-9a-f]{16}$/);
    expect(styleUrl).toMatch(/^\/app\.css\?v=[0-9a-f]{16}$/);

    const script = await fetch(`${origin}${scriptUrl}`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('content-encoding')).toMatch(/^(br|gzip)$/);
    expect(await script.text()).toContain('generationProgress');

    const style = await fetch(`${origin}${styleUrl}`);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await style.text()).toContain(':focus-visible');

    const unversioned = await fetch(`${origin}/app.js`);
    await unversioned.arrayBuffer();
    expect(unversioned.headers.get('cache-control')).toBe('no-cache');
    const revalidated = await fetch(`${origin}/app.js`, {
      headers: { 'if-none-match': unversioned.headers.get('etag') ?? '' },
    });
    expect(revalidated.status).toBe(304);

    const posted = await fetch(`${origin}/`, { method: 'POST' });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('the progress page in Chromium, on the embedded provider', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startPageServer(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('fills the preloaded four-placeholder worksheet over graphql-ws: four images, "4 / 4" and the stats', async () => {
    const { page, problems, sockets, close } = await openPage(browser, server);

    expect(await page.locator('.card').count()).toBe(0);
    await page.getByRole('button', { name: 'Generate images' }).click();
    await waitForText(page, '#progress-count', /^4 \/ 4$/);
    await page.locator('#stats').waitFor();
    await imagesDecoded(page);

    expect(await cardStates(page)).toEqual({
      '0-1': 'succeeded',
      '0-2': 'succeeded',
      '1-1': 'succeeded',
      '1-2': 'succeeded',
    });
    const images = await page.$$eval('.card img', (elements) =>
      (elements as HTMLImageElement[]).map((image) => ({
        src: image.src.slice(0, 22),
        alt: image.alt,
        decoded: image.complete && image.naturalWidth > 0,
      })),
    );
    expect(images).toHaveLength(4);
    for (const image of images) expect(image).toMatchObject({ src: 'data:image/png;base64,', decoded: true });
    expect(images[0]?.alt).toBe('A friendly cartoon elephant counting apples');
    expect(await page.textContent('#stat-successful')).toBe('4');
    expect(await page.textContent('#stat-failed')).toBe('0');
    expect(await page.textContent('#stat-retries')).toBe('0');
    expect(await page.textContent('#stat-duration')).toMatch(/^\d+(\.\d)? (ms|s)$/);
    expect(await page.textContent('#progress-status')).toMatch(/^Finished: all 4 images made/);
    expect(await page.locator('#offline-note').isVisible()).toBe(true);
    expect(await page.locator('#download').isVisible()).toBe(true);
    expect(sockets).toEqual([`${server.wsUrl}`]);
    expect(problems).toEqual([]);

    await page.screenshot({ path: join(ARTIFACTS, 'progress-page.png'), fullPage: true });
    await close();
  });

  it('starts with Enter once Tab has reached the Generate button, whose focus is visible', async () => {
    const { page, problems, close } = await openPage(browser, server);

    let presses = 0;
    while ((await page.evaluate(() => document.activeElement?.id)) !== 'generate') {
      presses += 1;
      expect(presses, 'Tab presses to reach Generate').toBeLessThanOrEqual(5);
      await page.keyboard.press('Tab');
    }
    const outline = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement as Element);
      return `${style.outlineStyle} ${style.outlineWidth}`;
    });
    expect(outline).toBe('solid 3px');

    await page.keyboard.press('Enter');
    await waitForText(page, '#progress-count', /^4 \/ 4$/);
    await page.locator('#stats').waitFor();

    expect(await page.evaluate(() => document.activeElement?.id)).toBe('generate');
    expect(problems).toEqual([]);
    await close();
  });

  it('fits a 375 px wide phone screen without horizontal scrolling', async () => {
    const { page, problems, close } = await openPage(browser, server, { width: 375, height: 812 });

    await page.getByRole('button', { name: 'Generate images' }).click();
    await waitForText(page, '#progress-count', /^4 \/ 4$/);
    await page.locator('#stats').waitFor();
    await imagesDecoded(page);

    const widths = await page.evaluate(() => ({
      viewport: document.documentElement.clientWidth,
      document: document.documentElement.scrollWidth,
      body: document.body.scrollWidth,
    }));
    expect(widths.viewport).toBe(375);
    expect(widths.document).toBeLessThanOrEqual(375);
    expect(widths.body).toBeLessThanOrEqual(375);
    expect(problems).toEqual([]);

    await page.screenshot({ path: join(ARTIFACTS, 'progress-page-phone.png'), fullPage: true });
    await close();
  });

  it('loads a worksheet from a .json file and generates it', async () => {
    const { page, problems, close } = await openPage(browser, server);
    const worksheet = {
      pages: [{ elements: [{ type: 'image', prompt: 'A kite in the wind', width: 320, height: 240 }] }],
    };

    await page.setInputFiles('#worksheet-file', {
      name: 'kite.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(worksheet)),
    });
    await waitForText(page, '#progress-status', 'Loaded kite.json.');
    expect(JSON.parse(await page.inputValue('#worksheet-json'))).toEqual(worksheet);
    await page.getByRole('button', { name: 'Generate images' }).click();
    await waitForText(page, '#progress-count', /^1 \/ 1$/);

    expect(await cardStates(page)).toEqual({ '0-0': 'succeeded' });
    expect(problems).toEqual([]);
    await close();
  });

  it('says what is wrong with a worksheet that is not JSON, and sends nothing', async () => {
    const { page, sockets, close } = await openPage(browser, server);

    await page.fill('#worksheet-json', '{ "pages": [');
    await page.getByRole('button', { name: 'Generate images' }).click();

    await waitForText(page, '#worksheet-error', /^The worksheet is not valid JSON/);
    expect(await page.getAttribute('#worksheet-json', 'aria-invalid')).toBe('true');
    expect(await page.locator('.card').count()).toBe(0);
    expect(sockets).toEqual([]);
    await close();
  });
  it('says there is nothing to do when no element is a placeholder it recognises, and shows one', async () => {
    const { page, sockets, close } = await openPage(browser, server);
    const worksheet = {
      pages: [{ elements: [{ type: 'image-placeholder', prompt: 'A cat', width: 64, height: 64 }] }],
    };

    await page.fill('#worksheet-json', JSON.stringify(worksheet));
    await page.getByRole('button', { name: 'Generate images' }).click();

    await waitForText(page, '#worksheet-error', /^Nothing to do: No element is a picture placeholder/);
    const message = await page.textContent('#worksheet-error');
    expect(message).toContain('0-0 has "type": "image-placeholder", which is not "image"');
    expect(message).toContain('A placeholder is an element like { "type": "image", "prompt": ');
    expect(await page.textContent('#progress-status')).toBe(message);
    expect(await page.locator('.card').count()).toBe(0);
    expect(sockets).toEqual([]);
    await close();
  });
});

describe('the progress page cancelling a running job', () => {
  let server: TestServer;
  let browser: Browser;
  let provider: GatedProvider;

  beforeAll(async () => {
    provider = createGatedProvider();
    [server, browser] = await Promise.all([startPageServer({}, provider), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('Cancel cancels the job on the server: finished images stay, the others are marked cancelled', async () => {
    const { page, problems, close } = await openPage(browser, server);

    await page.getByRole('button', { name: 'Generate images' }).click();
    await provider.whenWaiting(4);
    provider.release(1);
    await waitForText(page, '#progress-count', /^1 \/ 4$/);
    await page.locator('.card[data-state="succeeded"]').waitFor();
    expect(Object.values(await cardStates(page)).sort()).toEqual([
      'generating',
      'generating',
      'generating',
      'succeeded',
    ]);
    await page.screenshot({ path: join(ARTIFACTS, 'progress-page-running.png'), fullPage: true });

    await page.getByRole('button', { name: 'Cancel' }).click();
    await waitForText(page, '#progress-status', /^Cancelled: 1 of 4 images were made before cancelling\.$/);

    expect(Object.values(await cardStates(page)).sort()).toEqual(['cancelled', 'cancelled', 'cancelled', 'succeeded']);
    expect(await page.textContent('#progress-count')).toBe('1 / 4');
    expect(await page.locator('.card[data-state="cancelled"] .badge').allTextContents()).toEqual([
      'Cancelled',
      'Cancelled',
      'Cancelled',
    ]);
    expect(await page.locator('.card img').count()).toBe(1);
    expect(await page.textContent('#stat-successful')).toBe('1');
    expect(await page.textContent('#stat-cancelled')).toBe('3');
    // The requests in flight were aborted upstream, not left to finish.
    expect(provider.waiting).toHaveLength(0);
    expect(provider.calls).toBe(4);
    expect(await page.locator('#generate').isEnabled()).toBe(true);
    expect(await page.locator('#cancel').isDisabled()).toBe(true);
    expect(problems).toEqual([]);

    await page.screenshot({ path: join(ARTIFACTS, 'progress-page-cancelled.png'), fullPage: true });
    await close();
  });
});

describe('the progress page after a dropped WebSocket', () => {
  let server: TestServer;
  let browser: Browser;
  let provider: GatedProvider;

  beforeAll(async () => {
    provider = createGatedProvider();
    [server, browser] = await Promise.all([
      startPageServer({ GENERATION_CONCURRENCY: '2' }, provider),
      launchChromium(),
    ]);
  });

  afterAll(async () => {
    provider.open();
    await browser?.close();
    await server?.close();
  });

  it('resubscribes with after: no card goes back a state, and the job finishes on the page', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = collectPageProblems(page);
    const subscribes: Array<{ after?: number }> = [];
    const connections: Array<{ drop: () => Promise<void> }> = [];
    // Between the page and the server, so the test can cut the connection as a network would.
    await page.routeWebSocket(/\/graphql$/, (socket) => {
      const upstream = socket.connectToServer();
      socket.onMessage((message) => {
        const parsed = JSON.parse(String(message)) as { type: string; payload?: { variables?: { after?: number } } };
        if (parsed.type === 'subscribe') subscribes.push({ after: parsed.payload?.variables?.after });
        upstream.send(message);
      });
      upstream.onMessage((message) => socket.send(message));
      connections.push({
        drop: async () => {
          await upstream.close();
          await socket.close({ code: 1001, reason: 'Network gone' });
        },
      });
    });
    await page.goto(`${originOf(server)}/`);
    await page.locator('#worksheet-json').waitFor();
    // Every state each card shows, in order, as the page shows them.
    await page.evaluate(() => {
      const seen: Record<string, string[]> = {};
      (window as unknown as { cardStates: typeof seen }).cardStates = seen;
      new MutationObserver((records) => {
        for (const record of records) {
          const card = record.target as HTMLElement;
          const id = card.dataset.id;
          if (!id || !card.classList.contains('card') || !card.dataset.state) continue;
          const states = seen[id] ?? [];
          seen[id] = states;
          if (states.at(-1) !== card.dataset.state) states.push(card.dataset.state);
        }
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
    });

    await page.getByRole('button', { name: 'Generate images' }).click();
    await provider.whenWaiting(2);
    provider.release(1);
    await page.locator('.card[data-state="succeeded"]').waitFor();
    await connections[0]!.drop();
    await expect.poll(() => subscribes.length, { timeout: 15_000 }).toBe(2);
    provider.open();
    await waitForText(page, '#progress-count', /^4 \/ 4$/);

    expect(subscribes[0]!.after).toBe(0);
    expect(subscribes[1]!.after).toBeGreaterThanOrEqual(4);
    const states = await page.evaluate(
      () => (window as unknown as { cardStates: Record<string, string[]> }).cardStates,
    );
    for (const id of ['0-1', '0-2', '1-1', '1-2']) {
      expect(states[id]?.at(-1), id).toBe('succeeded');
      // A replay from the first event would show a finished card as queued again.
      expect(new Set(states[id]).size, id).toBe(states[id]?.length);
    }
    expect(await cardStates(page)).toEqual({
      '0-1': 'succeeded',
      '0-2': 'succeeded',
      '1-1': 'succeeded',
      '1-2': 'succeeded',
    });
    expect(problems).toEqual([]);
    await context.close();
  });
});

/** Real pictures (not placeholders), except: "busy" fails once with a 503 asking for 1.5 s, "flagged" always fails. */
function createFlakyProvider(): ImageProvider {
  const refusedOnce = new Set<string>();
  return {
    name: 'local',
    placeholder: false,
    async generate(request) {
      if (request.prompt.includes('flagged')) {
        throw new ProviderError('The prompt was flagged by the safety checker.', {
          code: 'CONTENT_FLAGGED',
          retryable: false,
          reason: 'flagged',
        });
      }
      if (request.prompt.includes('busy') && !refusedOnce.has(request.prompt)) {
        refusedOnce.add(request.prompt);
        throw new ProviderError('The image service is busy', {
          code: 'UPSTREAM_UNAVAILABLE',
          retryable: true,
          status: 503,
          retryAfterMs: 1500,
          reason: 'http_503',
        });
      }
      return { mimeType: 'image/png', bytes: tinyPng(request.prompt) };
    },
    async close() {},
  };
}

describe('the progress page with retries and failures', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startPageServer({}, createFlakyProvider()), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows a retry with its reason and wait, a failure with its reason, and no offline note for real images', async () => {
    const { page, problems, close } = await openPage(browser, server);
    const worksheet = {
      pages: [
        {
          elements: [
            { type: 'image', prompt: 'A calm lake at dawn', width: 256, height: 192 },
            { type: 'image', prompt: 'A busy harbour', width: 256, height: 192 },
            { type: 'image', prompt: 'A flagged picture', width: 256, height: 192 },
          ],
        },
      ],
    };
    await page.fill('#worksheet-json', JSON.stringify(worksheet, null, 2));
    await page.getByRole('button', { name: 'Generate images' }).click();

    await page.locator('.card[data-id="0-1"][data-state="retrying"]').waitFor();
    expect(await page.textContent('.card[data-id="0-1"] .detail')).toBe(
      'The image service is busy. Trying again in 1.5 s.',
    );
    await waitForText(page, '#progress-count', /^3 \/ 3$/);
    await page.locator('#stats').waitFor();

    expect(await cardStates(page)).toEqual({ '0-0': 'succeeded', '0-1': 'succeeded', '0-2': 'failed' });
    expect(await page.textContent('.card[data-id="0-1"] .detail')).toBe('256 × 192 px after 2 attempts.');
    expect(await page.textContent('.card[data-id="0-2"] .badge')).toBe('Failed');
    expect(await page.textContent('.card[data-id="0-2"] .detail')).toBe(
      'The prompt was flagged by the safety checker.',
    );
    expect(await page.textContent('#stat-successful')).toBe('2');
    expect(await page.textContent('#stat-failed')).toBe('1');
    expect(await page.textContent('#stat-retries')).toBe('1');
    expect(await page.textContent('#progress-status')).toBe('Finished: 2 of 3 images were made; 1 image failed.');
    expect(await page.locator('#offline-note').isVisible()).toBe(false);
    expect(problems).toEqual([]);

    await page.screenshot({ path: join(ARTIFACTS, 'progress-page-retry.png'), fullPage: true });
    await close();
  });
});
