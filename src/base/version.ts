// metalearn's version, from package.json.
import { createRequire } from 'node:module';

/** metalearn's version, from package.json (this file runs as dist/src/base/version.js). */
export const VERSION: string = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
