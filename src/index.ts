// metalearn as a library: tasks, model, adaptation, algorithms, training,
// evaluation, checkpoints and plots, with no command line in them.
export * from './config.js';
export * from './config-file.js';
export * from './errors.js';
export * from './limits.js';
export * from './options.js';
export * from './tasks.js';
export * from './model.js';
export * from './adapt.js';
export * from './gradients.js';
export * from './optim.js';
export * from './algorithms/index.js';
export * from './checkpoint.js';
export * from './evaluate.js';
export * from './report.js';
export * from './plots.js';
export * from './train.js';
export * from './run-dir.js';
export { Rng } from './rng.js';
export { useBackend, runtime, BACKENDS, type BackendChoice, type Runtime } from './backend.js';
export { useKernels, kernelSet, KERNEL_CHOICES, type KernelChoice, type KernelSet } from './kernels/index.js';
export { lockRunDir, type RunLock } from './lock.js';
export { VERSION } from './version.js';
