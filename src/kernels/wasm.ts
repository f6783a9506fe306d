// The compiled kernels (src/kernels/assembly, built by `npm run build` into simd.wasm beside
// this file) instantiated over the memory of TF.js's wasm backend, so that they read and write
// tensors where they live. What a kernel needs from the backend: its module's memory, each
// tensor's byte offset in it, and makeOutput. These are internals of tfjs-backend-wasm, which is
// why its version is pinned (TFJS_WASM_VERSION, checked at start-up and by a test).
import type { TensorInfo } from '@tensorflow/tfjs';

/** The tfjs-backend-wasm these kernels were written against (package.json pins it). */
export const TFJS_WASM_VERSION = '4.22.0';

/** The part of tfjs-backend-wasm's BackendWasm the kernels use. */
export interface WasmBackend {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(offset: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

/** The functions of simd.wasm (see src/kernels/assembly/index.ts); offsets are bytes, flags 0 or 1. */
export interface KernelExports {
  batchMatMul(a: number, b: number, out: number, batchA: number, batchB: number, m: number, k: number, n: number, transposeA: number, transposeB: number, bias: number, relu: number, scratch: number): void;
  mlpBackprop(layers: number, widths: number, args: number, perTask: number, tasks: number, k: number, relu: number, l1: number, scale: number, summed: number, scratch: number): void;
  mlpHvp(layers: number, widths: number, args: number, perTask: number, tasks: number, k: number, relu: number, l1: number, scale: number, summed: number, scratch: number): void;
  mlpHvpScratch(layers: number, widths: number, tasks: number, k: number): number;
  adam(args: number, count: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, stepSize: number, epsilonHat: number): void;
  step(args: number, count: number, scalar: number): void;
  tanhArray(x: number, out: number, n: number): void;
}

/** Room for the lists of offsets and sizes a call passes (u32 each). */
const LIST_WORDS = 4096;

let compiled: Promise<WebAssembly.Module> | null = null;

async function wasmBytes(): Promise<BufferSource> {
  const url = new URL('./simd.wasm', import.meta.url);
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

/** Compiles simd.wasm once per process (it is not yet bound to a backend). */
export function compileKernels(): Promise<WebAssembly.Module> {
  compiled ??= wasmBytes().then((bytes) => WebAssembly.compile(bytes));
  return compiled;
}

/** The kernels bound to one backend instance: its memory, and a scratch area they may overwrite. */
export class BoundKernels {
  readonly exports: KernelExports;
  private scratch = 0;
  private scratchBytes = 0;
  /** Two areas of LIST_WORDS words: offsets (args) and sizes (ints) of the call under way. */
  private readonly lists: number;

  constructor(
    module: WebAssembly.Module,
    readonly backend: WasmBackend,
  ) {
    const instance = new WebAssembly.Instance(module, { env: { memory: backend.wasm.asm.memory } });
    this.exports = instance.exports as unknown as KernelExports;
    this.lists = backend.wasm._malloc(8 * LIST_WORDS) >>> 0;
  }

  private writeList(words: number[], at: number): number {
    if (words.length > LIST_WORDS) throw new Error(`metalearn kernels: ${words.length} arguments, more than ${LIST_WORDS}`);
    new Uint32Array(this.backend.wasm.asm.memory.buffer, at, words.length).set(words); // a fresh view: the heap may have grown
    return at;
  }

  /** Writes byte offsets (u32) where a kernel reads them; valid until the next call. */
  args(offsets: number[]): number {
    return this.writeList(offsets, this.lists);
  }

  /** Writes sizes (i32 >= 0) where a kernel reads them; valid until the next call. */
  ints(values: number[]): number {
    return this.writeList(values, this.lists + 4 * LIST_WORDS);
  }

  /** Byte offset of a tensor's data in the backend's memory. */
  offset(t: TensorInfo): number {
    const data = this.backend.dataIdMap.get(t.dataId);
    if (!data) throw new Error('metalearn kernels: a tensor of another backend reached a wasm kernel');
    return data.memoryOffset;
  }

  /** A scratch area of at least `floats` float32, valid until the next call (kept between calls). */
  scratchFor(floats: number): number {
    const bytes = floats * 4;
    if (bytes > this.scratchBytes) {
      if (this.scratch) this.backend.wasm._free(this.scratch);
      this.scratchBytes = Math.max(bytes, 2 * this.scratchBytes, 1 << 16);
      this.scratch = this.backend.wasm._malloc(this.scratchBytes) >>> 0;
    }
    return this.scratch;
  }
}
