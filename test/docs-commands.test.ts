// Every metalearn command that README.md, docs/*.md and checkpoints/README.md show runs as written on a
// fresh clone and exits 0: each file's commands in order (a later one may read what an earlier one
// wrote), on a scratch copy of the repository whose shipped runs are the repository's own, on shortened
// settings where a command as written would train or evaluate for minutes (a run trains 20 iterations,
// an evaluation scores 50 tasks). Every file the commands wrote is one git ignores (so git status stays
// clean), and the shipped runs are unchanged. `npm` commands (set-up, tests,
// `npm run reproduce` and `npm run bench`, which take minutes to hours) are not run here.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'metalearn.js');
const DOCS = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`), 'checkpoints/README.md'];
const SHORT = { iterations: 20, tasks: 50 };

/** The lines of the ```sh blocks of a markdown file, continuations joined and comments dropped. */
function shellCommands(markdown: string): string[] {
  const lines: string[] = [];
  let inBlock = false;
  for (const raw of markdown.split('\n')) {
    if (/^```/.test(raw)) {
      inBlock = raw.trim() === '```sh';
      continue;
    }
    if (!inBlock) continue;
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (lines.length && lines[lines.length - 1].endsWith('\\')) lines[lines.length - 1] = `${lines[lines.length - 1].slice(0, -1).trim()} ${line}`;
    else if (line) lines.push(line);
  }
  return lines;
}

/** A flag's value in an argument list, or undefined. */
const flag = (args: string[], name: string) => {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  return i < 0 ? undefined : args[i].includes('=') ? args[i].split('=').slice(1).join('=') : args[i + 1];
};
/** The argument list with a flag set to a value (replaced, or appended). */
function withFlag(args: string[], name: string, value: string): string[] {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return [...args, name, value];
  return args[i].includes('=') ? [...args.slice(0, i), `${name}=${value}`, ...args.slice(i + 1)] : [...args.slice(0, i + 1), value, ...args.slice(i + 2)];
}

/** A command's arguments on shortened settings: a new run trains SHORT.iterations, a resume 20 past the run's iteration, an evaluation scores SHORT.tasks tasks. */
function shortened(args: string[], cwd: string): string[] {
  const [command, kind] = args;
  if (command === 'train') {
    const resume = flag(args, '--resume');
    if (resume) {
      const at = JSON.parse(readFileSync(join(cwd, resume, 'model.json'), 'utf8')).userDefinedMetadata.metalearn.iteration as number;
      return flag(args, '--iterations') ? withFlag(args, '--iterations', String(at + SHORT.iterations)) : args;
    }
    const config = flag(args, '--config');
    const algo = flag(args, '--algo') ?? (config ? JSON.parse(readFileSync(join(cwd, config), 'utf8')).algo : 'maml');
    return algo === 'random' ? args : withFlag(withFlag(args, '--iterations', String(SHORT.iterations)), '--val-tasks', '10');
  }
  if (command === 'eval' || (command === 'plot-data' && kind === 'losses' && flag(args, '--checkpoint'))) return withFlag(args, '--tasks', String(SHORT.tasks));
  return args;
}

/** Runs `metalearn serve` until it says where it serves, then stops it as Ctrl-C would. */
function serveBriefly(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...withFlag(args, '--port', '0')], { cwd, env: { ...process.env, FORCE_COLOR: '0' } });
    let output = '';
    let stopped = false;
    const read = (c: Buffer) => {
      output += c;
      if (stopped || !/http:\/\/\S+\//.test(output)) return;
      stopped = true; // once: a second Ctrl-C leaves at once, as in a terminal
      child.kill('SIGINT');
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('close', (code) => done({ code, output }));
  });
}

/** Every file below a folder (symlinked folders not followed), relative to it, with its modification time. */
function files(dir: string, base = dir): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) for (const [p, t] of files(path, base)) out.set(p, t);
    else out.set(relative(base, path), statSync(path).mtimeMs);
  }
  return out;
}

/** A fresh clone as the commands see it: the configs, the docs, and the shipped runs (the repository's own, read only). */
function freshClone(): string {
  const scratch = mkdtempSync(join(tmpdir(), 'metalearn-docs-'));
  for (const name of ['configs', 'README.md', 'docs']) cpSync(join(root, name), join(scratch, name), { recursive: true });
  mkdirSync(join(scratch, 'checkpoints'));
  cpSync(join(root, 'checkpoints', 'README.md'), join(scratch, 'checkpoints', 'README.md'));
  symlinkSync(join(root, 'checkpoints', 'shipped'), join(scratch, 'checkpoints', 'shipped'));
  return scratch;
}

/** Runs one command as a user would type it (shortened), in cwd; serve until it says where it serves. */
async function run(command: string, cwd: string): Promise<void> {
  const args = command.replace(/^npx metalearn /, '').split(/\s+/);
  if (args[0] === 'serve') {
    const r = await serveBriefly(args, cwd);
    assert.equal(r.code, 0, `${command}\n${r.output}`);
    return;
  }
  const runAs = shortened(args, cwd);
  const r = spawnSync(process.execPath, [bin, ...runAs], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  assert.equal(r.status, 0, `${command} (run as: metalearn ${runAs.join(' ')})\n${r.stderr}`);
}

describe('every command of the README and the docs, each file on a fresh clone', { timeout: 600_000 }, () => {
  const scratches: string[] = [];
  after(() => scratches.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const shipped = files(join(root, 'checkpoints', 'shipped'));

  for (const doc of DOCS) {
    const commands = shellCommands(readFileSync(join(root, doc), 'utf8')).filter((c) => c.startsWith('npx metalearn '));
    if (commands.length === 0) continue;
    it(`${doc}: its ${commands.length} command(s) exit 0, and what they write git ignores`, async () => {
      const scratch = freshClone();
      scratches.push(scratch);
      const before = files(scratch);
      for (const command of commands) await run(command, scratch);
      const written = [...files(scratch)].filter(([path, time]) => before.get(path) !== time).map(([path]) => path);
      const check = spawnSync('git', ['-C', root, 'check-ignore', '--no-index', '--stdin'], { input: written.join('\n'), encoding: 'utf8' });
      const ignored = new Set(check.stdout.split('\n').filter(Boolean));
      assert.deepEqual(written.filter((p) => !ignored.has(p)), [], 'files a command wrote that git status would show');
    });
  }

  it('and the shipped runs are unchanged', () => {
    assert.deepEqual(files(join(root, 'checkpoints', 'shipped')), shipped);
  });
});
