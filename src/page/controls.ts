// The controls of index.html bound to the state: the target wave, the support points, the
// fine-tuning settings and the stepper through the updates.
import { defaultConfig } from '../config/config.js';
import { Rng } from '../core/rng.js';
import { sampleInputs, sampleTasks, type SineTask } from '../tasks/sine.js';
import { configOf } from '../run/format.js';
import { $, round2 } from './dom.js';
import { render } from './plots.js';
import { compute, state } from './state.js';

export function bindControls(): void {
  bindWave();
  bindPoints();
  bindFineTuning();
  bindPlay();
}

/** The wave's sliders, and a random wave of the first chosen run's task family. */
function bindWave(): void {
  const wave = (key: keyof SineTask & string) => {
    const input = $<HTMLInputElement>(key);
    input.value = String(state.wave[key]);
    input.addEventListener('input', () => {
      state.wave = { ...state.wave, [key]: Number(input.value) };
      compute();
    });
  };
  (['amplitude', 'phase', 'frequency'] as const).forEach(wave);
  $('random-wave').addEventListener('click', () => {
    const loaded = state.runs.get(state.selected[0])?.loaded;
    const first = loaded ? configOf(loaded.model) : defaultConfig();
    const [task] = sampleTasks(new Rng(`page ${Date.now()}`), first, 1);
    state.wave = { amplitude: round2(task.amplitude), phase: round2(((task.phase % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI)), frequency: round2(task.frequency) };
    for (const key of ['amplitude', 'phase', 'frequency'] as const) $<HTMLInputElement>(key).value = String(state.wave[key]);
    compute();
  });
}

/** K support points sampled in [from, to] (inside the x range), or none. */
function bindPoints(): void {
  $('sample').addEventListener('click', () => {
    const k = Number($<HTMLInputElement>('k').value);
    const lo = Math.max(state.xRange[0], Number($<HTMLInputElement>('sample-lo').value));
    const hi = Math.min(state.xRange[1], Number($<HTMLInputElement>('sample-hi').value));
    if (!(k >= 1 && k <= 100 && lo < hi)) return;
    state.points = [...sampleInputs(new Rng(`page ${Date.now()}`), 1, k, [lo, hi], false)].map(round2).sort((a, b) => a - b);
    compute();
  });
  $('clear').addEventListener('click', () => {
    state.points = [];
    compute();
  });
}

/** The number of updates (the stepper's end), the update shown, the learning rate, and one panel or one per run. */
function bindFineTuning(): void {
  const updates = $<HTMLInputElement>('updates');
  const step = $<HTMLInputElement>('step');
  updates.addEventListener('change', () => {
    state.updates = Math.min(50, Math.max(1, Math.round(Number(updates.value)) || 1));
    updates.value = String(state.updates);
    step.max = String(state.updates);
    state.step = state.updates;
    step.value = String(state.step);
    compute();
  });
  step.addEventListener('input', () => {
    state.step = Number(step.value);
    render();
  });
  const lr = $<HTMLInputElement>('lr');
  lr.addEventListener('change', () => {
    const v = Number(lr.value);
    state.lr = lr.value.trim() === '' || !(v > 0) ? undefined : v;
    if (state.lr === undefined) lr.value = '';
    compute();
  });
  $<HTMLInputElement>('overlay').addEventListener('change', (e) => {
    state.overlay = (e.target as HTMLInputElement).checked;
    render();
  });
}

/** ▶ steps through the updates from 0, one every 200 ms; ❚❚ stops. */
function bindPlay(): void {
  const step = $<HTMLInputElement>('step');
  let playing: number | null = null;
  const play = $('play');
  const stop = () => {
    if (playing !== null) clearInterval(playing);
    playing = null;
    play.textContent = '▶';
  };
  play.addEventListener('click', () => {
    if (playing !== null) return stop();
    play.textContent = '❚❚';
    state.step = 0;
    playing = window.setInterval(() => {
      step.value = String(state.step);
      render();
      if (state.step >= state.updates) stop();
      else state.step++;
    }, 200);
  });
}
