// The options every computing command shares: --backend and --kernels, declared and checked once.
import type { Command } from 'commander';
import { BACKENDS, runtime, useBackend, type BackendChoice, type Runtime } from '../kernels/backend.js';
import { UsageError } from '../base/errors.js';
import { KERNEL_CHOICES, type KernelChoice } from '../kernels/index.js';

const BACKEND_HELP = `compute backend: ${BACKENDS.join('|')}`;
const KERNELS_HELP = "kernels of the wasm backend: simd (metalearn's WebAssembly SIMD kernels), builtin (TF.js's own), auto (simd where it loads)";

/** Adds --backend and --kernels (default auto) to a command; prefix qualifies their help (e.g. "with --checkpoint: "). */
export function runtimeOptions(cmd: Command, prefix = ''): Command {
  return cmd.option('--backend <name>', `${prefix}${BACKEND_HELP}`, 'auto').option('--kernels <set>', `${prefix}${KERNELS_HELP}`, 'auto');
}

/** The flags' backend and kernels, checked before anything starts. */
export function runtimeChoice(flags: Record<string, unknown>): { backend: BackendChoice; kernels: KernelChoice } {
  const backend = String(flags.backend) as BackendChoice;
  if (!BACKENDS.includes(backend)) throw new UsageError(`unknown backend '${backend}': choose one of ${BACKENDS.join(', ')}`);
  const kernels = String(flags.kernels) as KernelChoice;
  if (!KERNEL_CHOICES.includes(kernels)) throw new UsageError(`unknown kernel set '${kernels}': choose one of ${KERNEL_CHOICES.join(', ')}`);
  return { backend, kernels };
}

/** Starts the backend and kernels the flags ask for. */
export async function startRuntime(choice: ReturnType<typeof runtimeChoice>): Promise<Runtime> {
  try {
    await useBackend(choice.backend, choice.kernels);
  } catch (e) {
    if (e instanceof UsageError && choice.kernels === 'simd' && /simd kernels/.test(e.message)) throw new UsageError(`--kernels simd: ${e.message}`);
    throw e;
  }
  return runtime();
}

/** "wasm (simd kernels)", "cpu": what computes, for messages. */
export function describeRuntime(r: Pick<Runtime, 'backend' | 'kernels'>): string {
  return r.backend === 'wasm' ? `wasm (${r.kernels} kernels)` : r.backend;
}
