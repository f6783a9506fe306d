// The WebAssembly module of metalearn's kernels: every function takes byte offsets into the
// memory of TF.js's wasm backend (imported, never grown or written outside the outputs and the
// scratch it is given) and sizes. One file per kernel; gemm.ts is the product they share.
export { batchMatMul } from './batch-matmul';
export { mlpBackprop, mlpHvp, mlpHvpScratch } from './mlp';
export { tanhArray } from './tanh';
export { adam } from './adam';
export { step } from './step';
