import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';

describe('configuration', () => {
  it('uses the documented defaults and the embedded provider when no key is set', () => {
    const config = parseConfig({});
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.provider).toBe('local');
    expect(config.together.baseUrl).toBe('https://api.together.ai/v1');
    expect(config.together.model).toBe('black-forest-labs/FLUX.1-schnell');
    expect(config.together.steps).toBe(4);
    expect(config.images).toMatchObject({ minSide: 64, maxSide: 1792, maxBatchSize: 100 });
    expect(config.generation).toMatchObject({ concurrency: 16, maxAttempts: 3, upstreamTimeoutMs: 60_000 });
    expect(config.apiTokens).toEqual([]);
    expect(config.graphiql).toBe(true);
  });

  it('switches to Together when a key is set', () => {
    const config = parseConfig({ TOGETHER_API_KEY: 'secret-key', TOGETHER_BASE_URL: 'http://127.0.0.1:9999/v1/' });
    expect(config.provider).toBe('together');
    expect(config.together.baseUrl).toBe('http://127.0.0.1:9999/v1');
  });

  it('lets IMAGE_PROVIDER=local keep the embedded provider even with a key', () => {
    expect(parseConfig({ TOGETHER_API_KEY: 'k', IMAGE_PROVIDER: 'local' }).provider).toBe('local');
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ PORT: '', TOGETHER_API_KEY: '  ' })).toMatchObject({ port: 4000, provider: 'local' });
  });

  it.each([
    [{ PORT: 'abc' }, /PORT must be a whole number from 0 to 65535, got "abc"/],
    [{ PORT: '70000' }, /PORT must be a whole number from 0 to 65535/],
    [{ GENERATION_CONCURRENCY: '0' }, /GENERATION_CONCURRENCY must be a whole number from 1 to 256/],
    [{ GENERATION_MAX_ATTEMPTS: '2.5' }, /GENERATION_MAX_ATTEMPTS must be a whole number/],
    [{ IMAGE_PROVIDER: 'dalle' }, /IMAGE_PROVIDER must be "together" or "local"/],
    [{ IMAGE_PROVIDER: 'together' }, /IMAGE_PROVIDER=together needs TOGETHER_API_KEY/],
    [{ TOGETHER_BASE_URL: 'not a url' }, /TOGETHER_BASE_URL must be an http\(s\) URL/],
    [{ IMAGE_MIN_SIDE: '512', IMAGE_MAX_SIDE: '256' }, /IMAGE_MIN_SIDE \(512\) must not exceed IMAGE_MAX_SIDE \(256\)/],
    [{ GRAPHIQL: 'maybe' }, /GRAPHIQL must be true or false/],
  ])('rejects %o with a message naming the variable', (environment, message) => {
    expect(() => parseConfig(environment)).toThrow(ConfigError);
    expect(() => parseConfig(environment)).toThrow(message);
  });

  it('names every bad variable at once', () => {
    expect(() => parseConfig({ PORT: 'x', MAX_BATCH_SIZE: '-1' })).toThrow(/PORT[\s\S]*MAX_BATCH_SIZE/);
  });

  it('turns GraphiQL and introspection off in production unless asked for', () => {
    expect(parseConfig({ NODE_ENV: 'production' })).toMatchObject({ graphiql: false, introspection: false });
    expect(parseConfig({ NODE_ENV: 'production', GRAPHIQL: 'true' })).toMatchObject({
      graphiql: true,
      introspection: false,
    });
  });

  it('splits API_TOKENS on commas and ignores blanks', () => {
    expect(parseConfig({ API_TOKENS: ' a , b,,c ' }).apiTokens).toEqual(['a', 'b', 'c']);
  });

  it('keeps the embedded mode without REDIS_URL and takes a redis:// URL with a database number', () => {
    expect(parseConfig({}).redisUrl).toBeUndefined();
    expect(parseConfig({ REDIS_URL: 'redis://127.0.0.1:6379/11' }).redisUrl).toBe('redis://127.0.0.1:6379/11');
    expect(() => parseConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL must be a redis:\/\//);
    // A password in the URL is never echoed back.
    expect(() => parseConfig({ REDIS_URL: 'nonsense-secret-pw' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('secret-pw') }),
    );
  });

  it('never puts the key in a configuration error', () => {
    try {
      parseConfig({ TOGETHER_API_KEY: 'canary-key-123', PORT: 'nope' });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain('canary-key-123');
    }
  });

  it('derives the largest upstream image from IMAGE_MAX_SIDE unless it is set', () => {
    expect(parseConfig({}).together.maxImageBytes).toBe(1792 * 1792 * 3 + 1024 * 1024);
    expect(parseConfig({ IMAGE_MAX_SIDE: '1024' }).together.maxImageBytes).toBe(1024 * 1024 * 3 + 1024 * 1024);
    expect(parseConfig({ UPSTREAM_MAX_IMAGE_BYTES: '2000000' }).together.maxImageBytes).toBe(2_000_000);
  });

  it("allows image URLs on Together's hosts by default, and takes host names or origins", () => {
    expect(parseConfig({}).together.imageHosts).toContain('api.together.ai');
    expect(parseConfig({ TOGETHER_IMAGE_HOSTS: 'cdn.example, http://127.0.0.1:9999' }).together.imageHosts).toEqual([
      'cdn.example',
      'http://127.0.0.1:9999',
    ]);
    expect(() => parseConfig({ TOGETHER_IMAGE_HOSTS: 'ftp://x/y' })).toThrow(/TOGETHER_IMAGE_HOSTS/);
  });

  it('has defaults for the connection and answer budgets', () => {
    expect(parseConfig({}).security).toMatchObject({
      maxPendingWebSocketConnections: 128,
      webSocketInitTimeoutMs: 3000,
      maxSseConnections: 1000,
      maxConnectionsPerClient: 100,
      maxWaitingSubscriptionsPerClient: 100,
      maxInlineImageBytes: 8 * 1024 * 1024,
      maxMetricsOperationNames: 100,
    });
  });
});
