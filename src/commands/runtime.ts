// The options every computing command shares: --backend and --kernels, declared once.
import type { Command } from 'commander';
import { BACKEND_HELP, backendChoice, kernelChoice, KERNELS_HELP, runtime, useBackend, type Runtime } from '../backend.js';

/** Adds --backend and --kernels (default auto) to a command; prefix qualifies their help (e.g. "with --checkpoint: "). */
export function runtimeOptions(cmd: Command, prefix = ''): Command {
  return cmd.option('--backend <name>', `${prefix}${BACKEND_HELP}`, 'auto').option('--kernels <set>', `${prefix}${KERNELS_HELP}`, 'auto');
}

/** The flags' backend and kernels, checked before anything starts. */
export function runtimeChoice(flags: Record<string, unknown>) {
  return { backend: backendChoice(flags.backend), kernels: kernelChoice(flags.kernels) };
}

/** Starts the backend and kernels the flags ask for. */
export async function startRuntime(choice: ReturnType<typeof runtimeChoice>): Promise<Runtime> {
  await useBackend(choice.backend, choice.kernels);
  return runtime();
}

/** "wasm (simd kernels)", "cpu": what computes, for messages. */
export function describeRuntime(r: Pick<Runtime, 'backend' | 'kernels'>): string {
  return r.backend === 'wasm' ? `wasm (${r.kernels} kernels)` : r.backend;
}
