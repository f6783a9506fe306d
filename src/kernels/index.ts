// metalearn's kernels for TF.js's wasm backend, registered through TF.js's own kernel registry:
// built-ins replaced where they are slow, and fused kernels added for the steps metalearn runs
// most. `simd` installs them, `builtin` restores TF.js's own; the algorithms, the tape and the
// tensors are the same either way, and every kernel is tested against what it replaces
// (test/kernels.test.ts).
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { UsageError } from '../base/errors.js';
import { productKernels } from './batch-matmul.js';
import { adamKernel } from './adam.js';
import { mlpKernels } from './mlp.js';
import { stepKernel } from './step.js';
import { BoundKernels, compileKernels, TFJS_WASM_VERSION, type WasmBackend } from './wasm.js';

export const KERNEL_CHOICES = ['auto', 'simd', 'builtin'] as const;
export type KernelChoice = (typeof KERNEL_CHOICES)[number];
export type KernelSet = 'simd' | 'builtin';

/** The built-in kernels that `simd` replaces, kept to restore them. */
const REPLACED = ['BatchMatMul', '_FusedMatMul'] as const;

let active: KernelSet = 'builtin';
let bound: BoundKernels | null = null;
type Replaced = Record<(typeof REPLACED)[number], tf.KernelConfig>;
let saved: Replaced | null = null;
let added: string[] = [];

/** The kernel set in use. */
export function kernelSet(): KernelSet {
  return active;
}

/** Whether simd is unavailable here, and why (null when it is available). */
async function whyNoSimd(): Promise<string | null> {
  if (tf.getBackend() !== 'wasm') return `simd kernels are for the wasm backend (this is ${tf.getBackend()})`;
  if (version_wasm !== TFJS_WASM_VERSION) return `simd kernels are written for tfjs-backend-wasm ${TFJS_WASM_VERSION}, this is ${version_wasm}`;
  try {
    await compileKernels();
  } catch (e) {
    return `simd kernels did not load (${(e as Error).message.split('\n')[0]})`;
  }
  return null;
}

function install(kernels: BoundKernels): void {
  saved ??= Object.fromEntries(REPLACED.map((name) => [name, tf.getKernel(name, 'wasm')!])) as Replaced;
  const configs = [...productKernels(kernels, saved), ...mlpKernels(kernels), adamKernel(kernels), stepKernel(kernels)];
  for (const config of configs) {
    if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  added = configs.map((c) => c.kernelName).filter((name) => !(REPLACED as readonly string[]).includes(name));
}

function uninstall(): void {
  if (!saved) return;
  for (const name of [...REPLACED, ...added]) if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  for (const name of REPLACED) tf.registerKernel(saved[name]);
  added = [];
}

/**
 * Switches the kernels of the active backend (call after useBackend). auto: simd where it loads.
 * Returns the set in use and, when auto fell back to builtin, why. An explicit simd that cannot
 * load throws.
 */
export async function useKernels(choice: KernelChoice): Promise<{ kernels: KernelSet; note: string | null }> {
  let unavailable = choice === 'builtin' ? null : await whyNoSimd();
  let next: BoundKernels | null = null;
  if (choice !== 'builtin' && !unavailable) {
    const backend = tf.backend() as unknown as WasmBackend;
    try {
      next = bound?.backend === backend ? bound : new BoundKernels(await compileKernels(), backend);
    } catch (e) {
      unavailable = `simd kernels did not start (${(e as Error).message.split('\n')[0]})`; // e.g. the threaded build's shared memory
    }
  }
  if (choice === 'simd' && unavailable) throw new UsageError(unavailable);
  if (active === 'simd' && next !== bound) uninstall(); // off, or bound to another backend instance (tf.engine().reset())
  if (next && (active !== 'simd' || next !== bound)) install(next);
  bound = next ?? bound;
  active = next ? 'simd' : 'builtin';
  return { kernels: active, note: choice === 'auto' && tf.getBackend() === 'wasm' ? unavailable : null };
}

/**
 * The bound kernels when the fused paths may run: simd active on the current backend, and no
 * gradient tape recording (the fused kernels have no gradients; under tf.grads the composed
 * ops run, as MAML's autodiff route needs). Else null.
 */
export function simdKernels(): BoundKernels | null {
  return active === 'simd' && tf.getBackend() === 'wasm' && !tf.engine().isTapeOn() ? bound : null;
}
