// metalearn as a library: tasks, model, adaptation, algorithms, training,
// evaluation, checkpoints and plots, with no command line in them.
export * from './config/config.js';
export * from './config/file.js';
export * from './base/errors.js';
export * from './options/limits.js';
export * from './options/option.js';
export * from './core/tasks.js';
export * from './core/model.js';
export * from './core/adapt.js';
export * from './core/gradients.js';
export * from './core/optim.js';
export * from './algorithms/index.js';
export * from './run/checkpoint.js';
export * from './core/fine-tune.js';
export * from './eval/report.js';
export * from './eval/plots.js';
export * from './train/loop.js';
export * from './run/prepare.js';
export { Rng } from './core/rng.js';
export { useBackend, runtime, BACKENDS, type BackendChoice, type Runtime } from './kernels/backend.js';
export { useKernels, kernelSet, KERNEL_CHOICES, type KernelChoice, type KernelSet } from './kernels/index.js';
export { lockRunDir, type RunLock } from './run/lock.js';
export { VERSION } from './base/version.js';
