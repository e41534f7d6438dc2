export { createLocalProvider, DEFAULT_BANNER_TEXT, type LocalProviderOptions } from './local-provider.js';
