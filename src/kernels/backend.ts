// Backend selection. The native TensorFlow backend comes from optional packages
// (@tensorflow/tfjs-node, or @tensorflow/tfjs-node-gpu for CUDA), loaded by a guarded
// dynamic import; WebAssembly and pure JS always work.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { UsageError } from '../base/errors.js';
import { kernelSet, useKernels, type KernelChoice, type KernelSet } from './index.js';

export const BACKENDS = ['auto', 'tensorflow', 'cuda', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];
const NATIVE = {
  tensorflow: {
    pkg: '@tensorflow/tfjs-node',
    hint: 'install it with `npm install @tensorflow/tfjs-node` (its install downloads libtensorflow, so it needs internet access)',
  },
  cuda: {
    pkg: '@tensorflow/tfjs-node-gpu',
    hint: 'install it with `npm install @tensorflow/tfjs-node-gpu`; it needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1 (CUDA 12 alone does not load)',
  },
} as const;

async function loadNative(kind: keyof typeof NATIVE): Promise<string | null> {
  const { pkg } = NATIVE[kind];
  try {
    await import(pkg); // registers the 'tensorflow' backend
  } catch (e) {
    return `${pkg} did not load: ${((e as Error).message ?? String(e)).split('\n')[0]}`;
  }
  return (await tf.setBackend('tensorflow')) ? null : `${pkg} loaded but its backend did not start`;
}

/** What computes: the backend as recorded in outputs ('tensorflow', 'cuda', 'wasm' or 'cpu') and the kernel set. */
export interface Runtime {
  backend: string;
  kernels: KernelSet;
  /** Why auto kernels fell back to builtin on a backend that has simd ones, if they did. */
  note: string | null;
}

let current: Runtime | null = null;

async function activate(choice: BackendChoice): Promise<string> {
  if (choice === 'tensorflow' || choice === 'cuda') {
    const failure = await loadNative(choice);
    if (failure) throw new UsageError(`--backend ${choice}: ${failure}; ${NATIVE[choice].hint}`);
    return choice;
  }
  if (choice === 'auto' && (await loadNative('tensorflow')) === null) return 'tensorflow';
  for (const name of choice === 'auto' ? ['wasm', 'cpu'] : [choice]) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // try the next one
    }
  }
  throw new Error(`backend ${choice} could not be initialised`);
}

/**
 * Activates a backend and its kernels and returns the backend's name as recorded in outputs.
 * auto: tensorflow if @tensorflow/tfjs-node loads, else wasm, else cpu; kernels auto: simd on wasm
 * where they load (see kernels/index.ts).
 */
export async function useBackend(choice: BackendChoice, kernels: KernelChoice = 'auto'): Promise<string> {
  tf.enableProdMode(); // no "install tfjs-node" banner, no debug checks
  const backend = await activate(choice);
  const chosen = await useKernels(kernels);
  current = { backend, kernels: chosen.kernels, note: chosen.note };
  return backend;
}

/** The backend and kernels in use: as useBackend set them, or TF.js's own choice if it was never called. */
export function runtime(): Runtime {
  const backend = tf.getBackend();
  if (current && (current.backend === backend || (current.backend === 'cuda' && backend === 'tensorflow'))) return { ...current, kernels: kernelSet() };
  return { backend, kernels: kernelSet(), note: null };
}
