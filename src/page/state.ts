// The page's state (window.metalearn, which the browser test reads) and its one computation: every
// chosen checkpoint fine-tuned on the support points by eval's own fineTuneCheckpoints.
import { defaultConfig } from '../config/config.js';
import { fineTuneCheckpoints, type CheckpointResult } from '../eval/checkpoints.js';
import { resolveEvalConfig } from '../eval/options.js';
import type { SineTask } from '../tasks/sine.js';
import { configOf } from '../run/format.js';
import type { Listed } from './runs.js';

/** What the page shows, and what the browser test reads (window.metalearn). */
export const state = {
  wave: { amplitude: 3, phase: 1, frequency: 1 } as SineTask,
  points: [] as number[],
  updates: 10,
  lr: undefined as number | undefined,
  step: 10,
  overlay: false,
  selected: [] as string[],
  runs: new Map<string, Listed>(),
  /** The latest computation: per selected run, what eval computes for it; and the grid. */
  results: new Map<string, CheckpointResult>(),
  grid: { x: [] as number[], y: [] as number[] },
  xRange: [-5, 5] as [number, number],
  /** Incremented after each computation (the test waits on it). */
  computed: 0,
  backend: '',
};
Object.assign(window, { metalearn: { state, ready: false } });

/** What follows each computation: the plots' render, which main.ts passes (the plots import this module, so it cannot import them). */
let afterCompute = (): void => {};

export function onComputed(then: () => void): void {
  afterCompute = then;
}

/** The eval settings of the page's state, checked as eval checks them. */
function settings(points: number[], updates: number) {
  const { amplitude, phase, frequency } = state.wave;
  return resolveEvalConfig({ wave: [amplitude, phase, frequency], points, updates, lr: state.lr, xRange: state.xRange });
}

/**
 * Fine-tunes every chosen run on the support points, as eval does, one run at a time (each on its own task family, daml's source domains among it).
 * fineTuneCheckpoints adapts each checkpoint by its learner's own rule (plain SGD, Meta-SGD's learned rates, DAML's learned loss at unlabeled
 * inputs), so the page's losses are those of `metalearn eval --wave A,phase,w --points x,...` (the command it shows).
 */
export function compute(): void {
  state.results.clear();
  // the page's x range (the plots' and the loss grid's) is the first chosen run's
  const first = state.selected.map((n) => state.runs.get(n)?.loaded).find((r) => r);
  state.xRange = [...(first ? configOf(first.model) : defaultConfig()).xRange];
  // before any point is clicked, only update 0 is shown, which no support point changes
  const [points, updates] = state.points.length ? [state.points, state.updates] : [[(state.xRange[0] + state.xRange[1]) / 2], 0];
  for (const name of state.selected) {
    const run = state.runs.get(name)!;
    if (!run.loaded) continue;
    const { model } = run.loaded;
    try {
      const evaluation = fineTuneCheckpoints([{ dir: name, model }], settings(points, updates), configOf(model), { everyUpdate: true });
      state.results.set(name, evaluation.results[0]);
      state.grid = { x: evaluation.wave!.gridX, y: evaluation.wave!.gridY };
      delete run.error;
    } catch (e) {
      run.error = (e as Error).message;
    }
  }
  state.computed++;
  afterCompute();
}
