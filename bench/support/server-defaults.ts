/**
 * The server's own defaults, read from its configuration parser rather than copied: the scenarios measure the server
 * as `npm start` runs it, and their reports name the values it used.
 */
import { parseConfig } from '../../src/config.js';

const defaults = parseConfig({});

/** GENERATION_CONCURRENCY when it is not set. */
export const DEFAULT_CONCURRENCY = defaults.generation.concurrency;
