// The page of `metalearn serve`, where every chosen checkpoint is fine-tuned in the browser by the
// CLI's own code on the support points the user clicks: its start-up.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { runtime, useBackend } from '../kernels/backend.js';
import { bindControls } from './controls.js';
import { $ } from './dom.js';
import { render } from './plots.js';
import { choose, firstComparison, listRuns, pollLater, renderRunList } from './run-list.js';
import { compute, onComputed, state } from './state.js';

onComputed(render);

async function start(): Promise<void> {
  // the wasm backend's own binaries, from node_modules; cpu where WebAssembly does not start
  setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  try {
    await useBackend('wasm');
  } catch {
    await useBackend('cpu');
  }
  const { backend, kernels } = runtime();
  state.backend = backend;
  $('runtime').textContent = `TensorFlow.js ${tf.version.tfjs} on ${backend === 'wasm' ? `wasm (${kernels} kernels)` : backend}`;
  bindControls();
  await listRuns();
  const asked = new URLSearchParams(location.search).getAll('run');
  const wanted = asked.length ? asked : firstComparison();
  for (const name of wanted) if (state.runs.has(name)) await choose(name, true);
  renderRunList();
  compute();
  (window as unknown as { metalearn: { ready: boolean } }).metalearn.ready = true;
  pollLater();
}

start().catch((e: unknown) => {
  $('runtime').textContent = `the page did not start: ${(e as Error).message}`;
  $('runtime').className = 'error';
});
