// Backend selection. The native TensorFlow backend comes from optional packages
// (@tensorflow/tfjs-node, or @tensorflow/tfjs-node-gpu for CUDA), loaded by a guarded
// dynamic import; WebAssembly and pure JS always work.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { UsageError } from './config.js';

export const BACKENDS = ['auto', 'tensorflow', 'cuda', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];
/** Help text of every command's --backend flag (default auto). */
export const BACKEND_HELP = `compute backend: ${BACKENDS.join('|')}`;

/** The --backend flag's value, checked. */
export function backendChoice(flag: unknown): BackendChoice {
  const choice = String(flag) as BackendChoice;
  if (!BACKENDS.includes(choice)) throw new UsageError(`unknown backend '${choice}': choose one of ${BACKENDS.join(', ')}`);
  return choice;
}

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

/**
 * Activates a backend and returns the name recorded in outputs: 'tensorflow',
 * 'cuda', 'wasm' or 'cpu'. auto: tensorflow if @tensorflow/tfjs-node loads, else wasm, else cpu.
 */
export async function useBackend(choice: BackendChoice): Promise<string> {
  tf.enableProdMode(); // no "install tfjs-node" banner, no debug checks
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
