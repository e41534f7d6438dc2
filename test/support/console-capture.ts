import { vi } from 'vitest';

const LEVELS = ['warn', 'error', 'log', 'info', 'debug'] as const;

/**
 * Everything written to the console while it is captured: Apollo's invariant warnings and urql's graphcache
 * warnings go there, so "no warning printed" is checked on what a user would have seen.
 */
export function captureConsole(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const spies = LEVELS.map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(`${level}: ${args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ')}`);
    }),
  );
  return { lines, restore: () => spies.forEach((spy) => spy.mockRestore()) };
}
