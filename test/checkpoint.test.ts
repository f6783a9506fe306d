// Checkpoints are standard TensorFlow.js layers models: tf.loadLayersModel reads
// them and predicts exactly what metalearn predicts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { LEARNERS } from '../src/algorithms/index.js';
import { runtime } from '../src/kernels/backend.js';
import { loadModel } from '../src/run/checkpoint.js';
import { disposeModel } from '../src/run/format.js';
import { defaultsFor } from '../src/config/config.js';
import { atZeroContext, forward } from '../src/core/model.js';
import { train } from '../src/train/loop.js';
import { forEachBackend, runFiles } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'metalearn-ckpt-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** What tf.loadLayersModel gets from a run directory, read the way a user would (no metalearn code). */
async function loadAsLayersModel(dir: string): Promise<tf.LayersModel> {
  const f = runFiles(dir);
  const json = JSON.parse(readFileSync(f.model, 'utf8'));
  const bytes = readFileSync(f.weights);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
}

forEachBackend('checkpoint round trip', (backend) => {
  for (const activation of ['relu', 'tanh'] as const) {
    it(`${activation}: tf.loadLayersModel predicts exactly what metalearn predicts`, async () => {
      const runDir = join(scratch, `${backend}-${activation}`);
      const config = { ...defaultsFor('fomaml'), hidden: [16, 8, 12], activation, iterations: 5, metaBatch: 2, evalEvery: 0, valTasks: 2 };
      await train({ config, runDir, force: true });
      const model = await loadAsLayersModel(runDir);
      const mine = loadModel(runDir);
      assert.deepEqual(mine.hidden, [16, 8, 12]);
      assert.equal(mine.activation, activation);
      assert.equal(mine.info?.config.algo, 'fomaml');
      assert.equal(mine.info?.iteration, 5);
      assert.equal(mine.info?.backend, runtime().backend);
      assert.equal(mine.info?.kernels, runtime().kernels);
      const x = tf.linspace(-5, 5, 101).reshape([101, 1]);
      const theirs = (model.predict(x) as tf.Tensor).dataSync();
      const ours = forward(mine.params, x.reshape([1, 101, 1]) as tf.Tensor3D, mine.activation).dataSync();
      assert.deepEqual([...theirs], [...ours]);
      // and the weights are the trained ones, in Keras' order
      const layerWeights = model.getWeights().map((w) => [...w.dataSync()]);
      assert.deepEqual(layerWeights, mine.params.map((p) => [...p.dataSync()]));
      model.dispose();
      tf.dispose([x, ...mine.params]);
    });
  }

  for (const algo of ['meta-sgd', 'daml', 'maml++'] as const) {
    it(`${algo}: model.json stays a plain layers MLP; the learned tensors beside it load from its extras file, and are required`, async () => {
      const runDir = join(scratch, `${backend}-${algo}`);
      const config = { ...defaultsFor(algo), hidden: [8], ...(algo === 'daml' ? { adaptHidden: [4] } : {}), iterations: 3, metaBatch: 2, evalEvery: 0, valTasks: 2 };
      await train({ config, runDir, force: true });
      const model = await loadAsLayersModel(runDir);
      const mine = loadModel(runDir);
      assert.deepEqual(model.getWeights().map((w) => [...w.dataSync()]), mine.params.map((p) => [...p.dataSync()]));
      const expected = LEARNERS[algo].extras!(config);
      assert.deepEqual(Object.keys(mine.extras), Object.keys(expected));
      for (const [name, group] of Object.entries(expected)) assert.deepEqual(mine.extras[name].map((t) => t.shape), group.shapes);
      model.dispose();
      disposeModel(mine);
      renameSync(runFiles(runDir).extras!, join(scratch, 'elsewhere.bin'));
      assert.throws(() => loadModel(runDir), /extras-\d+\.bin is missing/);
    });
  }

  it('cavia: model.json takes [x, context] and says so; with the context at zero, tf.loadLayersModel predicts what metalearn predicts before adaptation', async () => {
    const runDir = join(scratch, `${backend}-cavia`);
    const config = { ...defaultsFor('cavia'), hidden: [8, 8], context: 3, iterations: 3, metaBatch: 2, evalEvery: 0, valTasks: 2 };
    await train({ config, runDir, force: true });
    const json = JSON.parse(readFileSync(runFiles(runDir).model, 'utf8'));
    assert.deepEqual(json.modelTopology.config.layers[0].config.batch_input_shape, [null, 4]);
    assert.deepEqual(json.userDefinedMetadata.metalearn.inputs, ['x', 'context 1', 'context 2', 'context 3']);
    const model = await loadAsLayersModel(runDir);
    const mine = loadModel(runDir);
    assert.equal(mine.inputs, 4);
    const x = tf.linspace(-5, 5, 101).reshape([101, 1]);
    const theirs = (model.predict(tf.concat([x, tf.zeros([101, 3])], 1)) as tf.Tensor).dataSync();
    const ours = forward(atZeroContext(mine.params, 1), x.reshape([1, 101, 1]) as tf.Tensor3D, mine.activation).dataSync();
    [...theirs].forEach((v, i) => assert.ok(Math.abs(v - ours[i]) <= 1e-5 * Math.max(1, Math.abs(ours[i])), `x ${i}: ${v} vs ${ours[i]}`));
    model.dispose();
    disposeModel(mine);
    tf.dispose(x);
  });
});

