// `npm run bench`: time per meta-iteration of each benchmark workload (the configs named
// like the PyTorch peer's workloads), kernels per meta-iteration, tensor counts and peak
// RSS; and, when /usr/bin/python3 has torch, the peer on the same workload in the same
// run, alternating, with the ratio metalearn / PyTorch. Not a test: nothing here asserts.
//
//   npm run bench                                   all workloads
//   npm run bench -- --workloads maml-paper --windows 7 --iterations 200
//   npm run bench -- --scaling                      time against meta-batch, inner steps, width
//   npm run bench -- --soak 20000                   tensors and RSS over a long run
//   npm run bench -- --json                         one JSON document on stdout
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { LEARNERS } from './algorithms/index.js';
import { BACKENDS, useBackend, type BackendChoice } from './backend.js';
import { readConfigFile, resolveConfig, type TrainConfig } from './config.js';
import { metaLrAt } from './optim.js';
import { Rng } from './rng.js';
import { initialTensors, metaIteration, trainable } from './train.js';

const WORKLOADS = ['maml-paper', 'fomaml-paper', 'fomaml-flux', 'reptile-flux', 'maml-blog', 'transfer-flux'];
const PEER = fileURLToPath(new URL('../../../shared/peers/torch_sine.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

interface Options {
  workloads: string;
  windows: string;
  iterations: string;
  warmup: string;
  backend: string;
  peer: boolean;
  scaling: boolean;
  soak?: string;
  json: boolean;
}

interface Measurement {
  workload: string;
  settings: string;
  msPerIter: number;
  windowsMs: number[];
  kernelsPerIter: number;
  kernelProfile: { name: string; count: number; ms: number }[];
  tensorsBefore: number;
  tensorsAfter: number;
  peakRssMb: number;
  torchMsPerIter: number | null;
  ratio: number | null;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

function configFor(workload: string, overrides: Partial<TrainConfig>): TrainConfig {
  const path = fileURLToPath(new URL(`../../configs/${workload}.json`, import.meta.url));
  return resolveConfig(readConfigFile(path), overrides);
}

/** metalearn's median ms per meta-iteration over `windows` windows after a warm-up, with a kernel profile of one iteration. */
async function measureOurs(config: TrainConfig, o: { windows: number; iterations: number; warmup: number }) {
  const learner = LEARNERS[config.algo];
  const { initial, extras } = initialTensors(config);
  const state = trainable(config, initial, extras);
  const rng = new Rng('bench');
  const step = (i: number) => metaIteration(learner, state.params, state.optimizer, config, rng, metaLrAt(config, i), state.extras);
  for (let i = 0; i < o.warmup; i++) step(i).dispose();
  const tensorsBefore = tf.memory().numTensors;
  const profiled = 5;
  const profile = await tf.profile(() => {
    for (let i = 0; i < profiled; i++) step(i).dispose();
  });
  // where the time goes: kernel time by kernel name, per meta-iteration
  const byKernel = new Map<string, { count: number; ms: number }>();
  for (const k of profile.kernels) {
    const entry = byKernel.get(k.name) ?? { count: 0, ms: 0 };
    byKernel.set(k.name, { count: entry.count + 1 / profiled, ms: entry.ms + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0) / profiled });
  }
  const kernelProfile = [...byKernel].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
  const windowsMs: number[] = [];
  for (let w = 0; w < o.windows; w++) {
    const start = performance.now();
    for (let i = 0; i < o.iterations; i++) {
      const loss = step(i);
      if (i === o.iterations - 1) loss.dataSync(); // wait for the window's work, as training does at log points
      loss.dispose();
    }
    windowsMs.push((performance.now() - start) / o.iterations);
  }
  const tensorsAfter = tf.memory().numTensors;
  state.dispose();
  return { msPerIter: median(windowsMs), windowsMs, kernelsPerIter: profile.kernels.length / profiled, kernelProfile, tensorsBefore, tensorsAfter };
}

function torchAvailable(): boolean {
  if (!existsSync(PYTHON) || !existsSync(PEER)) return false;
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** The peer's median ms per meta-iteration (it times five windows after its own warm-up). */
function measureTorch(workload: string, iterations: number, sets: string[]): number {
  const out = execFileSync(PYTHON, [PEER, '--workload', workload, '--iterations', String(iterations), ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!).ms_per_iter;
}

async function measure(workload: string, settings: string, overrides: Partial<TrainConfig>, peerSets: string[], o: { windows: number; iterations: number; warmup: number; peer: boolean }): Promise<Measurement> {
  const config = configFor(workload, overrides);
  const ours = await measureOurs(config, o);
  const torchMsPerIter = o.peer ? measureTorch(workload, o.windows * o.iterations, peerSets) : null;
  return { workload, settings, ...ours, peakRssMb: peakRssMb(), torchMsPerIter, ratio: torchMsPerIter ? ours.msPerIter / torchMsPerIter : null };
}

/** Tensor count and RSS over a long run of one workload. */
async function soak(workload: string, iterations: number) {
  const config = configFor(workload, {});
  const learner = LEARNERS[config.algo];
  const { initial, extras } = initialTensors(config);
  const state = trainable(config, initial, extras);
  const rng = new Rng('soak');
  const samples: { iteration: number; tensors: number; rssMb: number }[] = [];
  const every = Math.max(1, Math.floor(iterations / 10));
  for (let i = 1; i <= iterations; i++) {
    metaIteration(learner, state.params, state.optimizer, config, rng, metaLrAt(config, i), state.extras).dispose();
    if (i === 1 || i % every === 0) samples.push({ iteration: i, tensors: tf.memory().numTensors, rssMb: process.memoryUsage().rss / 2 ** 20 });
  }
  state.dispose();
  return { workload, iterations, samples };
}

function table(rows: Measurement[], first: string): string {
  const header = [first, 'ms/iter', 'kernels/iter', 'tensors before->after', 'peak RSS MB', 'PyTorch ms/iter', 'ratio'];
  const body = rows.map((r) => [
    r.settings || r.workload,
    r.msPerIter.toFixed(2),
    String(r.kernelsPerIter),
    `${r.tensorsBefore}->${r.tensorsAfter}`,
    r.peakRssMb.toFixed(0),
    r.torchMsPerIter?.toFixed(2) ?? '-',
    r.ratio?.toFixed(2) ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [header, ...body].map((cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`).join('\n');
}

async function main() {
  const o = new Command('bench')
    .option('--workloads <list>', 'comma-separated workloads (configs/<name>.json)', WORKLOADS.join(','))
    .option('--windows <n>', 'timing windows; the median is reported', '5')
    .option('--iterations <n>', 'meta-iterations per window', '100')
    .option('--warmup <n>', 'meta-iterations before timing', '20')
    .option('--backend <name>', `compute backend: ${BACKENDS.join('|')}`, 'auto')
    .option('--no-peer', 'do not run the PyTorch peer')
    .option('--scaling', 'time maml-paper against meta-batch size, inner steps and hidden width')
    .option('--soak <iterations>', 'run maml-paper this long and report tensors and RSS along the way')
    .option('--json', 'print one JSON document instead of tables')
    .parse()
    .opts<Options>();
  const backend = await useBackend(o.backend as BackendChoice);
  const peer = o.peer && torchAvailable();
  const settings = { windows: Number(o.windows), iterations: Number(o.iterations), warmup: Number(o.warmup), peer };
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, backend ${backend}`;
  const log = (text: string) => {
    if (!o.json) console.log(text);
  };
  log(`metalearn bench on ${machine}; PyTorch peer: ${peer ? 'yes (one thread, eager)' : 'not available (apt-get install python3-torch)'}`);
  log(`median of ${settings.windows} windows of ${settings.iterations} meta-iterations after ${settings.warmup} warm-up iterations\n`);
  const result: { machine: string; workloads: Measurement[]; scaling?: Measurement[]; soak?: Awaited<ReturnType<typeof soak>> } = { machine, workloads: [] };
  for (const workload of o.workloads.split(',')) result.workloads.push(await measure(workload, '', {}, [], settings));
  log(table(result.workloads, 'workload'));
  log('\nkernel time per meta-iteration (5 profiled), top kernels (count x, ms):');
  for (const r of result.workloads) log(`  ${r.workload}: ${r.kernelProfile.slice(0, 5).map((k) => `${k.name} ${k.count.toFixed(0)}x ${k.ms.toFixed(2)}`).join(', ')}`);
  if (o.scaling) {
    result.scaling = [];
    const variants: [string, Partial<TrainConfig>, string[]][] = [
      ...[1, 5, 25, 100].map((n): [string, Partial<TrainConfig>, string[]] => [`meta-batch ${n}`, { metaBatch: n }, [`tasks=${n}`]]),
      ...[1, 5, 10].map((n): [string, Partial<TrainConfig>, string[]] => [`inner steps ${n}`, { innerSteps: n }, [`steps=${n}`]]),
      ...[40, 64, 256].map((n): [string, Partial<TrainConfig>, string[]] => [`hidden ${n},${n}`, { hidden: [n, n] }, [`hidden=[${n},${n}]`]]),
    ];
    for (const [name, overrides, sets] of variants) result.scaling.push(await measure('maml-paper', `maml-paper, ${name}`, overrides, sets, settings));
    log(`\nscaling (maml-paper: 25 tasks, 1 inner step, 40,40 unless stated)\n${table(result.scaling, 'settings')}`);
  }
  if (o.soak) {
    result.soak = await soak('maml-paper', Number(o.soak));
    log(`\nsoak, maml-paper, ${o.soak} iterations:`);
    for (const s of result.soak.samples) log(`  iteration ${s.iteration}: ${s.tensors} tensors, RSS ${s.rssMb.toFixed(0)} MB`);
  }
  if (o.json) console.log(JSON.stringify(result, null, 1));
}

await main();
