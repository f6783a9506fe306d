#!/usr/bin/env node
// npm's `prepare`: builds metalearn (`npm run build`) unless dist/ is already newer than every file it is
// built from. `npm ci` builds it once; `npx metalearn` in this folder runs `prepare` again before its
// first command, which would otherwise rebuild everything (half a minute) before answering.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', 'BUILT'); // written by the build's last step
const sources = ['src', 'test', 'package.json', 'package-lock.json', 'tsconfig.json'].map((p) => join(root, p));

/** The newest modification time of a file or of any file below a folder. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  return s.isDirectory() ? Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name)))) : s.mtimeMs;
}

if (existsSync(stamp) && statSync(stamp).mtimeMs >= Math.max(...sources.map(newest))) process.exit(0);
const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath, 'run', 'build']] : ['npm', ['run', 'build']];
process.exit(spawnSync(npm[0], npm[1], { cwd: root, stdio: 'inherit' }).status ?? 1);
