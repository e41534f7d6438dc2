import { describe, expect, it } from 'vitest';
import { CLIENT_GZIP_BUDGET_BYTES, measureClientBundle } from '../scripts/client-size.js';

describe('the typed client bundled for browsers (`npm run size:client`)', () => {
  it(`stays within its budget of ${CLIENT_GZIP_BUDGET_BYTES / 1024} KiB gzipped, with no zod and no graphql runtime`, async () => {
    const size = await measureClientBundle();
    const origins = size.byOrigin.map(([origin]) => origin);

    expect(size.gzipBytes, `${size.gzipBytes} bytes gzipped; run \`npm run size:client\``).toBeLessThanOrEqual(
      CLIENT_GZIP_BUDGET_BYTES,
    );
    expect(size.minifiedBytes).toBeGreaterThan(size.gzipBytes);
    expect(origins).toContain('graphql-ws');
    expect(origins).not.toContain('zod');
    expect(origins).not.toContain('graphql');
  });
});
