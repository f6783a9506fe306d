#!/usr/bin/env node
// Runs the compiled CLI (dist/ is built by `npm install`/`npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/commands/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('metalearn is not built: run `npm run build` in its folder\n');
  process.exit(1);
}
const { main } = await import(cli.href);
await main(process.argv);
