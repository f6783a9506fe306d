// `metalearn train --seeds 0,1,2`: the same config trained under several seeds, one `metalearn
// train` process per seed, as many at a time as --jobs (default: the machine's cores), with one
// progress display (a bar per run) and a summary over seeds at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import chalk from 'chalk';
import cliProgress from 'cli-progress';
import { UsageError } from '../base/errors.js';
import { meanAndSd } from '../core/stats.js';
import { checkRunDir } from '../run/prepare.js';
import { fmt, good, Output } from './output.js';
import { exitCodeOf, onStopSignals, resumeCommand } from './signals.js';

const CLI = fileURLToPath(new URL('../../../bin/metalearn.js', import.meta.url));

/** --seeds' value: distinct whole numbers. */
export function parseSeeds(text: string): number[] {
  const seeds = text.split(',').map((s) => s.trim());
  if (!seeds.every((s) => /^\d+$/.test(s))) throw new UsageError(`--seeds ${text}: expected whole numbers 0 or more, comma separated (e.g. 0,1,2)`);
  const numbers = seeds.map(Number);
  if (new Set(numbers).size !== numbers.length) throw new UsageError(`--seeds ${text}: a seed is repeated`);
  return numbers;
}

/** The command line of one seed's run: this one without the sweep's own options, with its seed, name and --json. */
function childArgs(argv: string[], seed: number, name: string): string[] {
  const out: string[] = [];
  const skipWithValue = new Set(['--seeds', '--jobs', '--name', '--seed']);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i].split('=')[0];
    if (skipWithValue.has(flag)) {
      if (!argv[i].includes('=')) i++;
    } else if (flag !== '--json' && flag !== '--quiet') out.push(argv[i]);
  }
  return [...out, '--seed', String(seed), '--name', name, '--json'];
}

interface SeedRun {
  seed: number;
  dir: string;
  child?: ChildProcess;
  code?: number | null;
  error?: string;
  validation?: { before: number; after: number };
  /** Stopped by a signal, its checkpoint written (the run's end event). */
  stopped?: boolean;
  iteration: number;
  total: number;
}

type Bars = cliProgress.MultiBar | null;

/** Trains one seed's run in a `metalearn train` process of its own, following its JSON events; resolves when it exits. */
function runSeed(r: SeedRun, argv: string[], stem: string, out: Output, bars: Bars): Promise<void> {
  return new Promise<void>((resolve) => {
    // detached: a process group of its own, so that a terminal's Ctrl-C reaches the sweep alone and each
    // seed gets the signal once, forwarded (a second signal makes a train leave without its checkpoint)
    const child = spawn(process.execPath, [CLI, 'train', ...childArgs(argv, r.seed, `${stem}-${r.seed}`)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    r.child = child;
    const bar = bars?.create(1, 0, { name: `seed ${r.seed}`.padEnd(8), loss: '-', val: '-' });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      out.event({ ...event, seed: r.seed });
      if (event.event === 'start') {
        r.total = (event.config as { iterations: number }).iterations;
        bar?.setTotal(r.total);
        bar?.update(Number(event.iteration));
      } else if (event.event === 'progress') bar?.update(Number(event.iteration), { loss: fmt(event.metaLoss as number) });
      else if (event.event === 'validation') bar?.update({ val: fmt((event as { after: number }).after) });
      else if (event.event === 'end') {
        r.iteration = Number(event.iteration);
        r.stopped = event.stopped === true;
        r.validation = (event.validation as SeedRun['validation']) ?? undefined;
      }
    });
    child.on('close', (code) => {
      r.code = code;
      if (code !== 0) r.error = stderr.trim().split('\n').at(-1) || 'no message';
      bar?.stop();
      resolve();
    });
  });
}

/** How each seed ended, and the spread of the finished runs' validation losses. */
function summarize(runs: SeedRun[], out: Output): void {
  for (const r of runs) {
    if (r.code === undefined) out.info(`seed ${r.seed}: not started (stopped)`);
    else if (r.stopped) out.info(`seed ${r.seed}: stopped at iteration ${r.iteration}, its checkpoint written; resume with: ${resumeCommand(r.dir)}`);
    else if (r.code === 0) out.info(`seed ${r.seed}: ${good('done')} at iteration ${r.iteration}, validation MSE ${fmt(r.validation?.before)} before, ${fmt(r.validation?.after)} after: ${r.dir}`);
    else out.error(`seed ${r.seed}: exit ${r.code}: ${r.error}`);
  }
  const done = runs.filter((r) => r.code === 0 && r.validation);
  if (done.length > 1) {
    const { mean, sd } = meanAndSd(done.map((r) => r.validation!.after));
    out.info(`validation MSE after fine-tuning over ${done.length} seeds: ${fmt(mean)} +- ${fmt(sd)} (sd); evaluate them together: npx metalearn eval ${done.map((r) => `--checkpoint ${r.dir}`).join(' ')}`);
  }
}

/**
 * Trains one run per seed, as many at a time as jobs. argv: the train command's own arguments (after `train`);
 * stem: the runs' name, each run being <stem>-<seed> under outDir.
 */
export async function sweep(o: { argv: string[]; seeds: number[]; jobs: number | undefined; stem: string; outDir: string; force: boolean; out: Output }): Promise<number> {
  const runs: SeedRun[] = o.seeds.map((seed) => ({ seed, dir: join(o.outDir, `${o.stem}-${seed}`), iteration: 0, total: 0 }));
  for (const r of runs) checkRunDir(r.dir, o.force); // all refusals before any run starts
  const jobs = Math.max(1, Math.min(o.jobs ?? availableParallelism(), runs.length));
  o.out.info(`${chalk.bold('metalearn train')} ${runs.length} seeds (${o.seeds.join(', ')}), ${jobs} at a time -> ${runs.map((r) => r.dir).join(', ')}`);
  const bars = !o.out.mode.quiet && !o.out.mode.json && process.stderr.isTTY ? new cliProgress.MultiBar({ format: `{name} ${chalk.cyan('{bar}')} {value}/{total} it | meta-loss {loss} | val {val}`, hideCursor: true, fps: 5 }, cliProgress.Presets.shades_classic) : null;
  let stopping = false;
  const release = onStopSignals((signal) => {
    stopping = true; // no new runs; the running ones checkpoint and stop
    for (const r of runs) r.child?.kill(signal);
  });
  try {
    const queue = [...runs];
    await Promise.all(
      Array.from({ length: jobs }, async () => {
        for (let r = queue.shift(); r && !stopping; r = queue.shift()) await runSeed(r, o.argv, o.stem, o.out, bars);
      }),
    );
  } finally {
    bars?.stop();
    release();
  }
  summarize(runs, o.out);
  const failed = runs.find((r) => r.code !== undefined && r.code !== 0);
  return failed ? (failed.code ?? 1) : stopping ? exitCodeOf('SIGINT') : 0;
}
