// `npm run bench`: how fast metalearn meta-trains each benchmark workload (the configs named like
// the workloads of bench/torch_sine.py, its PyTorch peer), side by side with PyTorch on the same
// machine, alternating round by round. Not a test: nothing here asserts.
//
// In process: median ms per meta-iteration over timing windows after a warm-up, with the simd
// kernels and with TF.js's built-in ones, kernels and FLOPs per iteration, tensors before and
// after, and the peer's own in-process timing. From outside: `metalearn train` as a user runs it
// (periodic validation and checkpoints off), timed as a whole process with N + 20 and with 20
// iterations, the difference divided by N, beside the peer's script timed the same way.
//
//   npm run bench                                   all workloads, in process and from outside
//   npm run bench -- --workloads maml-paper --rounds 5
//   npm run bench -- --scaling                      time against meta-batch, inner steps, width
//   npm run bench -- --soak 20000                   tensors and RSS over a long run
//   npm run bench -- --json                         one JSON document on stdout
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { runtime, useBackend } from '../kernels/backend.js';
import { runtimeChoice, runtimeOptions } from './runtime.js';
import { resolveConfig, type TrainConfig } from '../config/config.js';
import { readConfigFile } from '../config/file.js';
import { useKernels, type KernelSet } from '../kernels/index.js';
import { freshTrainable, metaIteration } from '../train/meta-step.js';

const WORKLOADS = ['maml-paper', 'fomaml-paper', 'fomaml-flux', 'reptile-flux', 'maml-blog', 'transfer-flux'];
const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const PEER = root('bench/torch_sine.py');
const PYTHON = '/usr/bin/python3';
const CLI = root('bin/metalearn.js');
/** Iterations both sides run before the timed ones, subtracted out when timing whole processes. */
const BASE_ITERATIONS = 20;

interface Options {
  workloads: string;
  rounds: string;
  windows: string;
  iterations: string;
  warmup: string;
  seconds: string;
  peer: boolean;
  outside: boolean;
  scaling: boolean;
  soak?: string;
  json: boolean;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function configFor(workload: string, overrides: Partial<TrainConfig>): TrainConfig {
  return resolveConfig(readConfigFile(root(`configs/${workload}.json`)), overrides);
}

/** A run of meta-iterations on fresh weights: what one timing measures. */
function session(config: TrainConfig) {
  const t = freshTrainable(config);
  let i = 0;
  return { step: () => metaIteration(t, i++), dispose: () => t.dispose() };
}

/** Median ms per meta-iteration over windows, after a warm-up; the loss is read once per window, as training reads it at log points. */
function timeWindows(config: TrainConfig, o: { windows: number; iterations: number; warmup: number }): { ms: number; windows: number[]; tensorsBefore: number; tensorsAfter: number } {
  const run = session(config);
  for (let i = 0; i < o.warmup; i++) run.step().dispose();
  const tensorsBefore = tf.memory().numTensors;
  const windows: number[] = [];
  for (let w = 0; w < o.windows; w++) {
    const start = performance.now();
    for (let i = 0; i < o.iterations; i++) {
      const loss = run.step();
      if (i === o.iterations - 1) loss.dataSync(); // the window's sync point
      loss.dispose();
    }
    windows.push((performance.now() - start) / o.iterations);
  }
  const tensorsAfter = tf.memory().numTensors;
  run.dispose();
  return { ms: median(windows), windows, tensorsBefore, tensorsAfter };
}

/** Kernels per meta-iteration (by name) and the float operations of its products, from TF.js's profiler. */
async function profileIteration(config: TrainConfig): Promise<{ kernels: number; top: { name: string; count: number; ms: number }[]; productFlops: number }> {
  const run = session(config);
  for (let i = 0; i < 3; i++) run.step().dispose();
  const profiled = 5;
  const profile = await tf.profile(() => {
    for (let i = 0; i < profiled; i++) run.step().dispose();
  });
  run.dispose();
  const byName = new Map<string, { count: number; ms: number }>();
  let productFlops = 0;
  for (const k of profile.kernels) {
    const entry = byName.get(k.name) ?? { count: 0, ms: 0 };
    byName.set(k.name, { count: entry.count + 1 / profiled, ms: entry.ms + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0) / profiled });
    if (k.name === 'BatchMatMul' || k.name === '_FusedMatMul') {
      // 2 m k n per batch element: the output's size times twice the shared dimension
      const [a] = k.inputShapes as number[][];
      const out = k.outputShapes[0] as number[];
      const outSize = out.reduce((x, y) => x * y, 1);
      const rank = a.length;
      const shared = out.at(-2) === a[rank - 2] ? a[rank - 1] : a[rank - 2];
      productFlops += (2 * outSize * shared) / profiled;
    }
  }
  const top = [...byName].map(([name, e]) => ({ name, ...e })).sort((x, y) => y.ms - x.ms);
  return { kernels: profile.kernels.length / profiled, top, productFlops };
}

function peerAvailable(): boolean {
  return existsSync(PYTHON) && existsSync(PEER) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** The peer's own median ms per meta-iteration: its warm-up and five windows of `iterations`. */
function peerInProcess(workload: string, o: { iterations: number; warmup: number }, sets: string[]): number {
  const r = spawnSync(PYTHON, [PEER, '--workload', workload, '--iterations', String(o.warmup + 5 * o.iterations), ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the PyTorch peer failed on ${workload}: ${r.stderr.trim().split('\n').at(-1)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!).ms_per_iter;
}

/** Wall-clock seconds of one process. */
function timeProcess(command: string, args: string[]): number {
  const start = performance.now();
  const r = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr.trim().split('\n').at(-1)}`);
  return seconds;
}

/** ms per iteration of whole processes: (time of N + 20 iterations - time of 20) / N. */
function fromOutside(run: (iterations: number) => number, iterations: number): number {
  return ((run(iterations + BASE_ITERATIONS) - run(BASE_ITERATIONS)) * 1000) / iterations;
}

function trainProcess(workload: string, dir: string, kernels: KernelSet, backend: string) {
  return (iterations: number) =>
    timeProcess(process.execPath, [CLI, 'train', '--config', root(`configs/${workload}.json`), '--iterations', String(iterations), '--eval-every', '0', '--checkpoint-every', '0', '--quiet', '--force', '--out-dir', dir, '--name', workload, '--backend', backend, '--kernels', kernels]);
}

const peerProcess = (workload: string) => (iterations: number) => timeProcess(PYTHON, [PEER, '--workload', workload, '--iterations', String(iterations), '--plain']);

interface Row {
  workload: string;
  settings: string;
  simdMs: number;
  builtinMs: number;
  torchMs: number | null;
  ratio: number | null;
  outside?: { iterations: number; simdMs: number; torchMs: number | null; ratio: number | null };
  kernelsPerIter: number;
  builtinKernelsPerIter: number;
  productMflop: number;
  tensorsBefore: number;
  tensorsAfter: number;
  top: { name: string; count: number; ms: number }[];
  rounds: { simd: number[]; builtin: number[]; torch: number[]; outsideSimd: number[]; outsideTorch: number[] };
}

interface Settings {
  rounds: number;
  windows: number;
  iterations: number;
  warmup: number;
  seconds: number;
  peer: boolean;
  outside: boolean;
  dir: string;
  backend: string;
  kernels: KernelSet;
}

/** In process: alternating rounds of simd, builtin (on wasm) and the peer. */
async function measure(workload: string, settings: string, overrides: Partial<TrainConfig>, sets: string[], o: Settings): Promise<Row> {
  const config = configFor(workload, overrides);
  const rounds: Row['rounds'] = { simd: [], builtin: [], torch: [], outsideSimd: [], outsideTorch: [] };
  let tensors = { tensorsBefore: 0, tensorsAfter: 0 };
  const onWasm = runtime().backend === 'wasm';
  for (let r = 0; r < o.rounds; r++) {
    // alternating in each round: simd, builtin, PyTorch
    await useKernels(onWasm ? 'simd' : 'builtin');
    const simd = timeWindows(config, o);
    rounds.simd.push(simd.ms);
    tensors = simd;
    if (onWasm) {
      await useKernels('builtin');
      rounds.builtin.push(timeWindows(config, o).ms);
    }
    if (o.peer) rounds.torch.push(peerInProcess(workload, o, sets));
  }
  await useKernels('builtin');
  const builtinProfile = await profileIteration(config);
  await useKernels(onWasm ? 'simd' : 'builtin');
  const simdProfile = await profileIteration(config);
  const simdMs = median(rounds.simd);
  const torchMs = o.peer ? median(rounds.torch) : null;
  const row: Row = {
    workload,
    settings,
    simdMs,
    builtinMs: onWasm ? median(rounds.builtin) : simdMs,
    torchMs,
    ratio: torchMs ? simdMs / torchMs : null,
    kernelsPerIter: simdProfile.kernels,
    builtinKernelsPerIter: builtinProfile.kernels,
    productMflop: builtinProfile.productFlops / 1e6,
    ...tensors,
    top: simdProfile.top.slice(0, 5),
    rounds,
  };
  return row;
}

/** From outside: alternating rounds of a `metalearn train` process and a peer process, N chosen for about o.seconds of our work. */
function measureOutside(row: Row, o: Settings): NonNullable<Row['outside']> {
  const iterations = Math.max(200, Math.round((o.seconds * 1000) / row.simdMs));
  for (let r = 0; r < o.rounds; r++) {
    row.rounds.outsideSimd.push(fromOutside(trainProcess(row.workload, o.dir, o.kernels, o.backend), iterations));
    if (o.peer) row.rounds.outsideTorch.push(fromOutside(peerProcess(row.workload), iterations));
  }
  const simdMs = median(row.rounds.outsideSimd);
  const torchMs = o.peer ? median(row.rounds.outsideTorch) : null;
  return { iterations, simdMs, torchMs, ratio: torchMs ? simdMs / torchMs : null };
}

/** Tensor count and RSS over a long run of one workload. */
function soak(workload: string, iterations: number) {
  const run = session(configFor(workload, {}));
  const samples: { iteration: number; tensors: number; rssMb: number }[] = [];
  const every = Math.max(1, Math.floor(iterations / 10));
  for (let i = 1; i <= iterations; i++) {
    run.step().dispose();
    if (i === 1 || i % every === 0) samples.push({ iteration: i, tensors: tf.memory().numTensors, rssMb: process.memoryUsage().rss / 2 ** 20 });
  }
  run.dispose();
  return { workload, iterations, samples };
}

function markdown(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const fixed = (v: number | null | undefined, digits = 2) => (v === null || v === undefined ? '-' : v.toFixed(digits));

function inProcessTable(rows: Row[], first: string): string {
  return markdown(
    [first, 'simd ms/iter', 'builtin ms/iter', 'PyTorch ms/iter', 'ratio', 'kernels/iter (builtin)', 'MFLOP/iter', 'tensors before -> after'],
    rows.map((r) => [r.settings || r.workload, fixed(r.simdMs), fixed(r.builtinMs), fixed(r.torchMs), fixed(r.ratio), `${fixed(r.kernelsPerIter, 0)} (${fixed(r.builtinKernelsPerIter, 0)})`, fixed(r.productMflop, 2), `${r.tensorsBefore} -> ${r.tensorsAfter}`]),
  );
}

function outsideTable(rows: Row[]): string {
  return markdown(
    ['workload', 'iterations', 'metalearn train ms/iter', 'PyTorch ms/iter', 'ratio'],
    rows.map((r) => [r.workload, String(r.outside!.iterations), fixed(r.outside!.simdMs), fixed(r.outside!.torchMs), fixed(r.outside!.ratio)]),
  );
}

async function main() {
  const cmd = new Command('bench')
    .option('--workloads <list>', 'comma-separated workloads (configs/<name>.json)', WORKLOADS.join(','))
    .option('--rounds <n>', 'alternating rounds; medians are reported', '3')
    .option('--windows <n>', 'timing windows per in-process measurement; the median is taken', '5')
    .option('--iterations <n>', 'meta-iterations per window', '100')
    .option('--warmup <n>', 'meta-iterations before timing', '20')
    .option('--seconds <s>', 'work per timed process from outside (it sets N)', '5')
    .option('--no-peer', 'do not run the PyTorch peer')
    .option('--no-outside', 'skip the timing of whole processes')
    .option('--scaling', 'time maml-paper against meta-batch size, inner steps and hidden width (in process)')
    .option('--soak <iterations>', 'run maml-paper this long and report tensors and RSS along the way')
    .option('--json', 'print one JSON document instead of tables');
  const o = runtimeOptions(cmd).parse().opts<Options & Record<string, unknown>>();
  const choice = runtimeChoice(o);
  await useBackend(choice.backend, choice.kernels);
  const { backend, kernels } = runtime();
  const peer = o.peer && peerAvailable();
  const dir = mkdtempSync(join(tmpdir(), 'metalearn-bench-'));
  const settings: Settings = { rounds: Number(o.rounds), windows: Number(o.windows), iterations: Number(o.iterations), warmup: Number(o.warmup), seconds: Number(o.seconds), peer, outside: o.outside, dir, backend, kernels };
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, backend ${backend}, kernels ${kernels}`;
  const log = (text: string) => {
    if (!o.json) console.log(text);
  };
  log(`metalearn bench on ${machine}; PyTorch peer (bench/torch_sine.py): ${peer ? 'yes (one thread, eager)' : 'not available (apt-get install python3-torch)'}`);
  log(`in process: median of ${settings.rounds} alternating rounds, each the median of ${settings.windows} windows of ${settings.iterations} meta-iterations after ${settings.warmup} warm-up iterations\n`);
  const result: { machine: string; settings: typeof settings; workloads: Row[]; scaling?: Row[]; soak?: ReturnType<typeof soak> } = { machine, settings, workloads: [] };
  try {
    for (const workload of o.workloads.split(',')) result.workloads.push(await measure(workload, '', {}, [], settings));
    log(inProcessTable(result.workloads, 'workload'));
    log('\nkernel time per meta-iteration (TF.js profiler, 5 iterations), top kernels (count x, ms):');
    for (const r of result.workloads) log(`  ${r.workload}: ${r.top.map((k) => `${k.name} ${k.count.toFixed(0)}x ${k.ms.toFixed(3)}`).join(', ')}`);
    if (settings.outside) {
      log(`\nfrom outside: \`metalearn train --config configs/W.json --eval-every 0 --checkpoint-every 0\` and \`torch_sine.py --plain\`, whole processes of N + ${BASE_ITERATIONS} and ${BASE_ITERATIONS} iterations, alternating; median of ${settings.rounds} rounds of (difference / N)`);
      for (const row of result.workloads) row.outside = measureOutside(row, settings);
      log(outsideTable(result.workloads));
    }
    if (o.scaling) {
      result.scaling = [];
      const variants: [string, Partial<TrainConfig>, string[]][] = [
        ...[1, 5, 25, 100].map((n): [string, Partial<TrainConfig>, string[]] => [`meta-batch ${n}`, { metaBatch: n }, [`tasks=${n}`]]),
        ...[1, 5, 10].map((n): [string, Partial<TrainConfig>, string[]] => [`inner steps ${n}`, { innerSteps: n }, [`steps=${n}`]]),
        ...[40, 64, 128, 256].map((n): [string, Partial<TrainConfig>, string[]] => [`hidden ${n},${n}`, { hidden: [n, n] }, [`hidden=[${n},${n}]`]]),
      ];
      for (const [name, overrides, sets] of variants) result.scaling.push(await measure('maml-paper', `maml-paper, ${name}`, overrides, sets, settings));
      log(`\nscaling, in process (maml-paper: 25 tasks, 1 inner step, 40,40 unless stated)\n${inProcessTable(result.scaling, 'settings')}`);
    }
    if (o.soak) {
      await useKernels(kernels);
      result.soak = soak('maml-paper', Number(o.soak));
      log(`\nsoak, maml-paper, ${o.soak} iterations:`);
      for (const s of result.soak.samples) log(`  iteration ${s.iteration}: ${s.tensors} tensors, RSS ${s.rssMb.toFixed(0)} MB`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (o.json) console.log(JSON.stringify(result, null, 1));
}

await main();
