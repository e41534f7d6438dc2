import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, when the machine has it; `CHROMIUM_PATH` names another binary. */
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Headless, and quiet on a closed network: no background connections to Google at start. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium for browser tests. A missing or broken browser is an error, never a skip: CI must not pass a
 * browser test that did not run.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await chromiumExecutablePath();
  try {
    return await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 30_000 });
  } catch (error) {
    throw new Error(`Could not launch Chromium at ${executablePath}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * `CHROMIUM_PATH` when set, Debian's Chromium when installed, otherwise the build that @sparticuz/chromium ships
 * inside its npm package (unpacked to the temp folder on first use): `npm ci` alone gives every machine a browser,
 * and nothing is downloaded at run time.
 */
export async function chromiumExecutablePath(): Promise<string> {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH names ${configured}, which does not exist.`);
    return configured;
  }
  if (existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM;
  const { default: packaged } = await import('@sparticuz/chromium');
  return packaged.executablePath();
}

/** Everything a page complained about: console errors, uncaught exceptions, Content-Security-Policy violations. */
export function collectPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`console.${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  return problems;
}
