import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_DEFAULT_QUERY } from '../src/server/graphiql.js';
import { launchChromium } from './support/browser.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts');

/** The query editor's visible width beside the result pane in a 1280 px window, in columns. */
const EDITOR_COLUMNS = 48;

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** The text a Monaco editor shows, lines in order (Monaco renders spaces as no-break spaces). */
async function editorText(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (root) =>
    [...root.querySelectorAll<HTMLElement>('.view-line')]
      .sort((a, b) => a.offsetTop - b.offsetTop)
      .map((line) => (line.textContent ?? '').replace(/\u00a0/g, ' '))
      .join('\n'),
  );
}

/** Puts the cursor on the line of the query editor that shows `text`, then runs the operation there. */
async function runOperationAt(page: Page, text: string): Promise<void> {
  await page.locator('.graphiql-query-editor .view-line', { hasText: text }).first().click();
  await page.keyboard.press('Control+Enter');
}

describe("GraphiQL's prefilled flow, in Chromium, offline", () => {
  it('keeps every line, comments first, within the editor width', () => {
    const lines = GRAPHIQL_DEFAULT_QUERY.split('\n');
    expect(lines.filter((line) => line.startsWith('#')).length).toBeGreaterThan(5);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(EDITOR_COLUMNS);
  });

  it('runs Start, then Follow, as the comments say, until the subscription shows done: true', {
    timeout: 120_000,
  }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1200 } });
    const origin = new URL(server.url).origin;
    const offsite: string[] = [];
    // Only the server itself: GraphiQL must work with no CDN, as it is bundled.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      offsite.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      await page.goto(server.url);
      await page.locator('.graphiql-query-editor .view-line', { hasText: 'mutation Start' }).waitFor({
        timeout: 60_000,
      });

      // Every line is shown whole in a 1280 px window: none runs past the editor's visible width.
      const clipped = await page.$eval('.graphiql-query-editor', (editor) => {
        const right = editor.querySelector('.monaco-scrollable-element')?.getBoundingClientRect().right ?? 0;
        return [...editor.querySelectorAll<HTMLElement>('.view-line')]
          .filter((line) => (line.firstElementChild?.getBoundingClientRect().right ?? 0) > right)
          .map((line) => line.textContent);
      });
      expect(clipped).toEqual([]);

      await runOperationAt(page, 'mutation Start');
      await expect
        .poll(() => editorText(page, '.graphiql-response'), { timeout: 30_000 })
        .toMatch(/"startWorksheetImages"[\s\S]*"id": "demo-1"/);

      await runOperationAt(page, 'subscription Follow');
      await expect.poll(() => editorText(page, '.graphiql-response'), { timeout: 60_000 }).toMatch(/"done": true/);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'graphiql-follow-done.png') });
      const shown = await editorText(page, '.graphiql-response');
      expect(shown).toMatch(/"completed": 2,\s*"total": 2/);

      const job = await server.app.jobs.get('demo-1');
      expect(job).toMatchObject({ status: 'COMPLETED', stats: { successful: 2 } });
      expect(offsite).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
