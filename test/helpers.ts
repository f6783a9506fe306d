// Shared test helpers: run a suite on each backend metalearn must support here; run the built CLI.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, before, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { learnerOf } from '../src/algorithms/index.js';
import { adaptationOf, type MetaState } from '../src/algorithms/learner.js';
import type { TrainConfig } from '../src/config/config.js';
import { Rng } from '../src/core/rng.js';
import { useBackend } from '../src/kernels/backend.js';
import { kernelSet } from '../src/kernels/index.js';

const bin = fileURLToPath(new URL('../../bin/metalearn.js', import.meta.url));
const cliEnv = { ...process.env, FORCE_COLOR: '0' };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI in cwd as a user would (no colours) and waits for it. */
export function runCli(cwd: string, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: cliEnv });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the built CLI in cwd without waiting, for tests that signal or kill it. */
export function startCli(cwd: string, ...args: string[]): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { cwd, env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** startCli in a process group of its own, as a shell runs a foreground job: process.kill(-pid, signal) is a terminal's Ctrl-C. */
export function startCliInGroup(cwd: string, ...args: string[]): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { cwd, env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}

/** The backends and kernel sets numeric tests run on: 'wasm' with metalearn's simd kernels, 'wasm-builtin' with TF.js's own. */
export const TEST_BACKENDS = { cpu: ['cpu', 'builtin'], wasm: ['wasm', 'simd'], 'wasm-builtin': ['wasm', 'builtin'] } as const;
export type TestBackend = keyof typeof TEST_BACKENDS;

/** describe() once per backend and kernel set, with them active for its tests; the body gets a label for names. */
export function forEachBackend(name: string, body: (label: TestBackend) => void): void {
  for (const [label, [backend, kernels]] of Object.entries(TEST_BACKENDS) as [TestBackend, (typeof TEST_BACKENDS)[TestBackend]][]) {
    describe(`${name} [${label}]`, () => {
      before(async () => {
        await useBackend(backend, kernels);
        if (tf.getBackend() !== backend || kernelSet() !== kernels) throw new Error(`backend ${backend} with ${kernels} kernels did not start`);
      });
      body(label);
    });
  }
}

/** Relative error |a - b| / max(|a|, |b|, floor), elementwise maximum. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), Math.abs(b[i]), floor));
  return worst;
}

/** ||a - b|| / ||b||, over whole vectors. */
export function relativeNormError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Mounts a tmpfs with these options on dir (created here), or skips the test saying why when mounting is not permitted. */
export function mountTmpfs(t: TestContext, dir: string, options: string, what: string): boolean {
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch (e) {
    t.skip(`mounting ${what} is not permitted here (${String((e as Error).message).split('\n')[0]})`);
    return false;
  }
}

/** The files of the checkpoint a run directory's model.json commits (what readers follow). */
export function runFiles(dir: string): { model: string; weights: string; state: string; curve: string; extras?: string } {
  const model = join(dir, 'model.json');
  const json = JSON.parse(readFileSync(model, 'utf8')) as { weightsManifest: { paths: string[] }[]; userDefinedMetadata?: { metalearn?: { files: { state: string; curve: string; extras?: string } } } };
  const files = json.userDefinedMetadata?.metalearn?.files;
  const at = (name: string) => join(dir, name);
  return { model, weights: at(json.weightsManifest[0].paths[0]), state: at(files?.state ?? 'none'), curve: at(files?.curve ?? 'none'), ...(files?.extras ? { extras: at(files.extras) } : {}) };
}

/** What a learner's meta-gradient works on, from given variables: its config, the tensors, its adaptation of them, a random stream. */
export function metaState<C extends TrainConfig>(config: C, params: tf.Variable[], extras: Record<string, tf.Variable[]> = {}, rng = new Rng('meta-state')): MetaState<C> {
  return { config, params, extras, rng, adaptation: adaptationOf(learnerOf(config.algo), { params, extras }) };
}
