// metalearn as a library (`import ... from 'metalearn'`): tasks, the model, adaptation, the
// algorithms, training, evaluation, run directories and plots, with no command line in them. Each
// module is exported once, layer by layer (docs/architecture.md).
export * from './base/errors.js';
export { VERSION } from './base/version.js';
export { useBackend, runtime, BACKENDS, type BackendChoice, type Runtime } from './kernels/backend.js';
export { useKernels, kernelSet, KERNEL_CHOICES, type KernelChoice, type KernelSet } from './kernels/index.js';
export * from './core/adapt.js';
export * from './core/fine-tune.js';
export * from './core/gradients.js';
export * from './core/model.js';
export * from './core/ops.js';
export * from './core/optim.js';
export { Rng, type RngState } from './core/rng.js';
export * from './core/stats.js';
export * from './core/points.js';
export * from './tasks/family.js';
export * from './tasks/index.js';
export * from './tasks/sine.js';
export * from './options/limits.js';
export * from './options/option.js';
export * from './options/shared.js';
export * from './algorithms/index.js';
export * from './algorithms/learner.js';
export * from './config/config.js';
export * from './config/file.js';
export * from './run/checkpoint.js';
export * from './run/format.js';
export { lockRunDir, type RunLock } from './run/lock.js';
export * from './run/prepare.js';
export * from './run/upgrade.js';
export * from './train/loop.js';
export * from './train/meta-step.js';
export * from './eval/checkpoints.js';
export * from './eval/options.js';
export * from './eval/report.js';
export * from './eval/plots.js';
