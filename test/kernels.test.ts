// metalearn's wasm kernels (src/kernels) against what they replace: each simd kernel, and each
// fused path, against TF.js's built-in kernels and metalearn's composed ops on the same inputs,
// bit for bit; and the pinned TF.js versions the kernels rely on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { useBackend } from '../src/kernels/backend.js';
import { resolveConfig, type TrainConfig } from '../src/config/config.js';
import { readConfigFile } from '../src/config/file.js';
import { backprop, hessianVectorProduct } from '../src/core/gradients.js';
import { kernelSet, simdKernels, useKernels, type KernelSet } from '../src/kernels/index.js';
import { subtractScaled } from '../src/core/ops.js';
import { TFJS_WASM_VERSION } from '../src/kernels/wasm.js';
import { initParams, perTaskCopies, type Params } from '../src/core/model.js';
import { adam } from '../src/core/optim.js';
import { Rng } from '../src/core/rng.js';
import { pointSet, sampleInputs, sampleTasks } from '../src/tasks/sine.js';
import { freshTrainable, metaIteration } from '../src/train/meta-step.js';

const repo = new URL('../../', import.meta.url);
const require = createRequire(repo);

/** Runs f under each kernel set and returns its results (f must return plain arrays). */
async function underBoth<T>(f: () => T): Promise<Record<KernelSet, T>> {
  const out = {} as Record<KernelSet, T>;
  for (const set of ['builtin', 'simd'] as const) {
    await useKernels(set);
    out[set] = f();
  }
  return out;
}

/** Positions where two float arrays differ in their bits (NaN equals NaN), and the largest relative difference. */
function bitDifferences(a: Float32Array, b: Float32Array): { count: number; worst: number } {
  assert.equal(a.length, b.length, 'lengths differ');
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let count = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (ua[i] === ub[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    count++;
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), Math.abs(b[i]), 1e-30));
  }
  return { count, worst };
}

function assertSameBits(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.equal(a.length, b.length, `${what}: ${a.length} results against ${b.length}`);
  a.forEach((x, i) => {
    const d = bitDifferences(x, b[i]);
    assert.equal(d.count, 0, `${what}, result ${i}: ${d.count} of ${x.length} values differ (largest relative difference ${d.worst.toExponential(2)})`);
  });
}

const values = (ts: tf.Tensor[]) => ts.map((t) => t.dataSync() as Float32Array);

describe('pinned TF.js', () => {
  it('package.json pins every @tensorflow package to one exact version, the one the kernels were written for, and it is the one installed', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', repo), 'utf8')) as Record<string, Record<string, string>>;
    const pins = Object.entries({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter(([name]) => name.startsWith('@tensorflow/'));
    assert.ok(pins.length >= 3, 'tfjs, tfjs-backend-wasm and tfjs-node are declared');
    for (const [name, range] of pins) {
      assert.equal(range, TFJS_WASM_VERSION, `${name} is pinned to ${range}, not exactly ${TFJS_WASM_VERSION}: the kernels read tfjs-backend-wasm's internals`);
    }
    for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm']) {
      const installed = (require(`${name}/package.json`) as { version: string }).version;
      assert.equal(installed, TFJS_WASM_VERSION, `${name} ${installed} is installed; the kernels were written for ${TFJS_WASM_VERSION}: rerun npm ci, or check every kernel against the new version before changing the pin`);
    }
    assert.equal(version_wasm, TFJS_WASM_VERSION);
  });
});

describe('kernel sets', () => {
  it('simd loads on wasm, is refused by name elsewhere, and auto falls back to builtin off wasm', async () => {
    await useBackend('cpu', 'auto');
    assert.equal(kernelSet(), 'builtin');
    await assert.rejects(useBackend('cpu', 'simd'), /simd kernels are for the wasm backend/);
    await useBackend('wasm', 'auto');
    assert.equal(kernelSet(), 'simd');
    await useBackend('wasm', 'builtin');
    assert.equal(kernelSet(), 'builtin');
    assert.equal(tf.getKernel('MetalearnMlpBackprop', 'wasm'), undefined, 'builtin removes the added kernels');
  });
});

describe('simd kernels against the built-ins [wasm]', () => {
  before(() => useBackend('wasm', 'simd'));

  // [batchA, batchB, m, k, n]: the workloads' products (tasks x points x widths), then odd sizes
  // (1, 3, 17, 65, 129; around the built-in's 48-wide blocks) and broadcast batches.
  const PRODUCTS: [number, number, number, number, number][] = [
    [1, 1, 250, 1, 40], [1, 1, 250, 40, 40], [1, 1, 250, 40, 1], [25, 25, 10, 1, 40], [25, 25, 10, 40, 40], [25, 25, 10, 40, 1], [25, 25, 40, 10, 40],
    [3, 3, 50, 64, 64], [3, 3, 64, 50, 64], [1, 1, 10, 64, 64], [1, 1, 64, 10, 64], [1, 1, 4, 32, 32], [1, 1, 32, 4, 32], [25, 25, 100, 40, 40],
    [1, 1, 1, 1, 1], [1, 1, 3, 3, 3], [1, 1, 17, 65, 129], [1, 1, 129, 17, 65], [1, 1, 65, 129, 17], [2, 2, 129, 49, 3], [3, 3, 17, 48, 65],
    [1, 25, 10, 40, 40], [25, 1, 10, 40, 40], [1, 3, 17, 65, 3], [4, 1, 3, 129, 17],
  ];

  it('BatchMatMul: every transpose form, batch sizes 1 and many and broadcast, bit for bit', async () => {
    for (const [batchA, batchB, m, k, n] of PRODUCTS) {
      for (const [transposeA, transposeB] of [[false, false], [false, true], [true, false], [true, true]]) {
        const twoD = batchA === 1 && batchB === 1;
        const shapeA = transposeA ? [k, m] : [m, k];
        const shapeB = transposeB ? [n, k] : [k, n];
        const a = tf.randomUniform(twoD ? shapeA : [batchA, ...shapeA], -2, 2, 'float32', m * 7 + k);
        const b = tf.randomUniform(twoD ? shapeB : [batchB, ...shapeB], -2, 2, 'float32', n * 5 + k);
        const r = await underBoth(() => values([tf.matMul(a, b, transposeA, transposeB)]));
        assertSameBits(r.simd, r.builtin, `[${batchA},${batchB}] ${m}x${k}x${n} transposeA=${transposeA} transposeB=${transposeB}`);
        tf.dispose([a, b]);
      }
    }
  });

  it("_FusedMatMul: a Dense layer's product, bias and relu as XNNPACK gives them; other forms as the composed ops (matMul, add, relu)", async () => {
    for (const [batchA, batchB, m, k, n] of PRODUCTS) {
      for (const activation of ['linear', 'relu'] as const) {
        const a = tf.randomUniform([m, k], -2, 2, 'float32', m + k);
        const b = tf.randomUniform([k, n], -2, 2, 'float32', k + n);
        const bias = tf.randomUniform([n], -1, 1, 'float32', n);
        const dense = await underBoth(() => values([tf.fused.matMul({ a, b, bias, activation })]));
        assertSameBits(dense.simd, dense.builtin, `dense ${m}x${k}x${n} ${activation}`);
        // transposed or batched: the built-in's own loop adds bias[n - 1] to every row after the
        // first (tfjs-backend-wasm 4.22), so the reference is the composed product
        const ta = tf.randomUniform(batchA === 1 && batchB === 1 ? [k, m] : [batchA, k, m], -2, 2, 'float32', 3 * m + k);
        const tb = tf.randomUniform(batchA === 1 && batchB === 1 ? [n, k] : [batchB, n, k], -2, 2, 'float32', 3 * n + k);
        await useKernels('simd');
        const fused = values([tf.fused.matMul({ a: ta, b: tb, bias, activation, transposeA: true, transposeB: true })]);
        await useKernels('builtin');
        const product = tf.add(tf.matMul(ta, tb, true, true), bias);
        const composed = values([activation === 'relu' ? tf.relu(product) : product]);
        assertSameBits(fused, composed, `transposed [${batchA},${batchB}] ${m}x${k}x${n} ${activation}`);
        tf.dispose([a, b, bias, ta, tb, product]);
      }
    }
    await useKernels('simd');
  });

  it("tanh: the fused kernels' tanh (musl's tanhf, four lanes at once) is the Tanh kernel's, on 2^20 random floats and the special values", () => {
    const kernels = simdKernels()!;
    const bits = new Uint32Array(1 << 20);
    const rng = new Rng('tanh');
    // half anywhere, half where tanh is neither 0 nor 1 (|x| between 2^-31 and 16)
    for (let i = 0; i < bits.length; i++) bits[i] = i % 2 ? Math.floor(rng.uniform(0, 2 ** 32)) : ((rng.int(2) << 31) | Math.floor(rng.uniform(0x30000000, 0x41800000))) >>> 0;
    const xs = new Float32Array(bits.buffer);
    xs.set([NaN, -0, 0, Infinity, -Infinity, 1e-40, -1e-39, 0.2554, 0.5493, 10, -10, 9.3554, 18.7]);
    const x = tf.tensor1d(xs);
    const out = tf.zerosLike(x);
    kernels.exports.tanhArray(kernels.offset(x), kernels.offset(out), xs.length);
    const d = bitDifferences(out.dataSync() as Float32Array, tf.tanh(x).dataSync() as Float32Array);
    assert.equal(d.count, 0, `${d.count} values differ`);
    tf.dispose([x, out]);
  });
});

const FAMILY = { amplitude: [0.1, 5] as [number, number], phase: [0, Math.PI] as [number, number], phases: null, frequency: [1, 1] as [number, number], xRange: [-5, 5] as [number, number] };

describe('fused MLP kernels against the composed backprop and Hessian-vector product [wasm]', () => {
  before(() => useBackend('wasm', 'simd'));
  const ARCHITECTURES: [number[], 'relu' | 'tanh', 'mse' | 'l1'][] = [
    [[40, 40], 'relu', 'mse'], [[64, 64], 'tanh', 'mse'], [[32, 32], 'relu', 'l1'], [[9], 'tanh', 'l1'], [[7, 5, 6], 'relu', 'mse'], [[65, 50], 'tanh', 'mse'],
  ];
  for (const [hidden, activation, loss] of ARCHITECTURES) {
    it(`1-${hidden.join('-')}-1 ${activation} ${loss}: gradients, activations, errors, losses and H v, bit for bit (1, 3 and 25 tasks; 5, 50 and 60 points; shared and per-task weights; per task and summed)`, async () => {
      for (const tasks of [1, 3, 25]) {
        for (const k of [5, 50, 60]) {
          for (const perTask of [false, true]) {
            for (const summed of [false, true]) {
              const rng = new Rng(`mlp ${hidden} ${tasks} ${k}`);
              const points = pointSet(sampleTasks(rng, FAMILY, tasks), sampleInputs(rng, tasks, k, FAMILY.xRange, false));
              const shared = initParams(hidden, rng);
              const params: Params = perTask ? perTaskCopies(shared, tasks).map((t, i) => tf.add(t, tf.randomUniform(t.shape, -0.1, 0.1, 'float32', i + 1))) : shared;
              const direction = (tasks > 1 ? perTaskCopies(shared, tasks) : shared).map((t, i) => tf.randomUniform(t.shape, -1, 1, 'float32', 50 + i));
              const opts = { activation, loss };
              const r = await underBoth(() =>
                tf.tidy(() => {
                  const bp = backprop(params, points, opts, 0.7, summed);
                  return values([...bp.grads, ...bp.outputs.slice(1), ...bp.errors, bp.losses, ...hessianVectorProduct(params, bp, direction, opts, 0.7, summed)]);
                }),
              );
              assertSameBits(r.simd, r.builtin, `${tasks} tasks, ${k} points, ${perTask ? 'per-task' : 'shared'} weights, ${summed ? 'summed' : 'per task'}`);
              tf.dispose([points.x, points.y, ...shared, ...params, ...direction]);
            }
          }
        }
      }
    });
  }

  it('MetalearnStep: p - r g for a scalar, learned rates, and per-task gradients of shared or per-task params, bit for bit', async () => {
    const shapes = [[40], [1, 40], [40, 40], [3, 17]];
    const shared = shapes.map((s, i) => tf.randomUniform(s, -1, 1, 'float32', i));
    const perTask = shapes.map((s, i) => tf.randomUniform([25, ...s], -1, 1, 'float32', 10 + i));
    const rates = shapes.map((s, i) => tf.randomUniform(s, -0.1, 0.3, 'float32', 20 + i));
    for (const [p, g, r] of [[shared, shared, 0.01], [shared, perTask, 0.03], [perTask, perTask, 1], [shared, perTask, rates], [perTask, perTask, rates]] as [tf.Tensor[], tf.Tensor[], number | tf.Tensor[]][]) {
      const out = await underBoth(() => tf.tidy(() => values(subtractScaled(p, g, r))));
      assertSameBits(out.simd, out.builtin, `p ${p[0].rank === 1 ? 'shared' : 'per task'}, g ${g[0].rank === 1 ? 'shared' : 'per task'}, r ${typeof r === 'number' ? r : 'rates'}`);
    }
    tf.dispose([...shared, ...perTask, ...rates]);
  });

  it('MetalearnAdam: 200 Adam steps of a 1-40-40-1 MLP, bit for bit', async () => {
    const r = await underBoth(() => {
      const params = initParams([40, 40], new Rng('adam')).map((t) => tf.variable(t));
      const optimizer = adam(params);
      for (let step = 0; step < 200; step++) tf.tidy(() => optimizer.apply(params, params.map((p, i) => tf.randomUniform(p.shape, -1, 1, 'float32', step * 10 + i)), 1e-3));
      const state = optimizer.state();
      const out = [...values(params), ...state.slots.map((s) => s.values)];
      tf.dispose(params);
      optimizer.dispose();
      return out;
    });
    assertSameBits(r.simd, r.builtin, 'params, m and v');
  });
});

describe('what the fused kernels do not take goes to the composed ops [wasm]', () => {
  before(() => useBackend('wasm', 'simd'));
  it('an MLP of 3 inputs, targets broadcast over the points, a direction in another layout: the same bits as the built-ins', async () => {
    const rng = new Rng('shapes');
    const params = initParams([6, 5], rng, 3);
    const x = tf.randomUniform([4, 7, 3], -2, 2, 'float32', 1) as tf.Tensor3D;
    const points = { x, y: tf.randomUniform([4, 7, 1], -1, 1, 'float32', 2) as tf.Tensor3D };
    const broadcastY = { x: points.x.slice([0, 0, 0], [4, 7, 1]) as tf.Tensor3D, y: tf.randomUniform([4, 1, 1], -1, 1, 'float32', 3) as tf.Tensor3D };
    const shared = initParams([6, 5], rng);
    const r = await underBoth(() =>
      tf.tidy(() => {
        const opts = { activation: 'tanh' as const, loss: 'mse' as const };
        const wide = backprop(params, points, opts, 0.5);
        const broadcast = backprop(shared, broadcastY, opts, 0.5);
        return values([...wide.grads, wide.losses, ...broadcast.grads, broadcast.losses]);
      }),
    );
    assertSameBits(r.simd, r.builtin, 'unusual shapes');
    tf.dispose([...params, ...shared, points.x, points.y, broadcastY.x, broadcastY.y]);
  });

  it('after tf.engine().reset() the kernels bind to the new backend instance', async () => {
    const a = tf.randomUniform([3, 10, 40]);
    const before = tf.matMul(a, a, false, true).dataSync();
    const values = a.dataSync();
    tf.engine().reset();
    await useBackend('wasm', 'simd');
    const b = tf.tensor(values, [3, 10, 40]);
    assert.deepEqual([...tf.matMul(b, b, false, true).dataSync()], [...before]);
    b.dispose();
  });
});

describe('every benchmark workload trains the same on both kernel sets [wasm]', () => {
  before(() => useBackend('wasm', 'simd'));
  const configs = ['maml-paper', 'fomaml-paper', 'fomaml-flux', 'reptile-flux', 'maml-blog', 'transfer-flux', 'meta-sgd-paper', 'reptile-paper', 'maml-numpy'];
  for (const name of configs) {
    it(`${name}: 30 meta-iterations give the same losses and weights, bit for bit`, async () => {
      const config: TrainConfig = resolveConfig(readConfigFile(new URL(`configs/${name}.json`, repo).pathname), {});
      const r = await underBoth(() => {
        const state = freshTrainable(config);
        const losses: number[] = [];
        for (let i = 0; i < 30; i++) {
          const loss = metaIteration(state, i);
          losses.push(loss.dataSync()[0]);
          loss.dispose();
        }
        const out = [Float32Array.from(losses), ...values([...state.params, ...Object.values(state.extras).flat()])];
        state.dispose();
        return out;
      });
      assertSameBits(r.simd, r.builtin, name);
    });
  }
});
