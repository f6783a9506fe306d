// The multimodal regression family (Vuorio et al. 2019): its formulas on hand-computed points, the
// ranges of the drawn parameters, the mode frequencies, determinism from a seed, and the mode sets
// of vuoristo/MMAML-Regression's `mixed`, `many` and `five` datasets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import {
  MULTIMODAL_KINDS,
  MULTIMODAL_MODE_SETS,
  MULTIMODAL_NOISE_STD,
  MULTIMODAL_PARAM_RANGES,
  MULTIMODAL_X_RANGE,
  multimodalValue,
  sampleMultimodalTasks,
  type MultimodalTask,
} from '../src/tasks/multimodal-functions.js';

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);

describe('multimodal functions', () => {
  it('each kind has the formula of simple_functions.py', () => {
    const cases: [MultimodalTask, number, number][] = [
      [{ kind: 'sinusoid', params: { amplitude: 2, phase: Math.PI / 2 } }, Math.PI, 2], // 2 sin(pi - pi/2)
      [{ kind: 'sinusoid', params: { amplitude: 3, phase: 0 } }, 0, 0],
      [{ kind: 'linear', params: { slope: -1.5, intercept: 2 } }, 4, -4],
      [{ kind: 'quadratic', params: { center: 1, bias: 0.5, alpha: 0.1, sign: -1 } }, 4, -0.4], // -0.1 * 9 + 0.5
      [{ kind: 'quadratic', params: { center: -2, bias: -1, alpha: 0.05, sign: 1 } }, 2, -0.2], // 0.05 * 16 - 1
      [{ kind: 'tanh', params: { center: 1, bias: 2, slope: 3 } }, 1, 2],
      [{ kind: 'tanh', params: { center: 0, bias: 0, slope: 2 } }, 1, 2 * Math.tanh(1)],
      [{ kind: 'l1norm', params: { slope: -2, bias: 1, center: 1.5 } }, -0.5, -3], // -2 * 2 + 1
      [{ kind: 'l1norm', params: { slope: 0.5, bias: 0, center: 0 } }, 3, 1.5],
    ];
    for (const [task, x, y] of cases) close(multimodalValue(task, x), y, `${task.kind} at ${x}`);
  });

  it('every drawn parameter lies in its range, the quadratic sign is +-1 and both signs occur', () => {
    const tasks = sampleMultimodalTasks(new Rng(11), MULTIMODAL_KINDS, 20_000);
    const signs = new Set<number>();
    for (const task of tasks) {
      const ranges = MULTIMODAL_PARAM_RANGES[task.kind];
      assert.deepEqual(Object.keys(task.params).sort(), Object.keys(ranges).sort(), task.kind);
      for (const [name, [lo, hi]] of Object.entries(ranges)) {
        const v = task.params[name];
        if (name === 'sign') {
          assert.ok(v === -1 || v === 1, `sign ${v}`);
          signs.add(v);
        } else assert.ok(v >= lo && v < hi, `${task.kind}.${name} = ${v} outside [${lo}, ${hi})`);
      }
      assert.ok(Number.isFinite(multimodalValue(task, MULTIMODAL_X_RANGE[0])));
    }
    assert.deepEqual([...signs].sort(), [-1, 1]);
  });

  it('the ranges, x range and noise are those of the source', () => {
    assert.deepEqual(MULTIMODAL_PARAM_RANGES.sinusoid, { amplitude: [0.1, 5], phase: [0, Math.PI] });
    assert.deepEqual(MULTIMODAL_PARAM_RANGES.linear, { slope: [-3, 3], intercept: [-3, 3] });
    assert.deepEqual(MULTIMODAL_PARAM_RANGES.quadratic.alpha, [0.02, 0.15]);
    assert.deepEqual(MULTIMODAL_X_RANGE, [-5, 5]);
    assert.equal(MULTIMODAL_NOISE_STD, 0.3);
  });

  it('modes are equally likely (each count within 4.5 binomial sd of n/m)', () => {
    const n = 50_000;
    for (const m of [2, 3, 5] as const) {
      const modes = MULTIMODAL_MODE_SETS[m];
      const counts = new Map<string, number>(modes.map((k) => [k, 0]));
      for (const t of sampleMultimodalTasks(new Rng(`modes-${m}`), modes, n)) counts.set(t.kind, (counts.get(t.kind) ?? 0) + 1);
      assert.equal(counts.size, m, 'only the given modes are drawn');
      const sd = Math.sqrt((n * (m - 1)) / (m * m));
      for (const [kind, c] of counts) assert.ok(Math.abs(c - n / m) < 4.5 * sd, `${m} modes: ${kind} drawn ${c} times of ${n}`);
    }
  });

  it('the same seed gives the same tasks, another seed others', () => {
    const draw = (seed: number) => sampleMultimodalTasks(new Rng(seed), MULTIMODAL_MODE_SETS[5], 200);
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
  });

  it('the mode sets are those of the datasets mixed, many and five', () => {
    assert.deepEqual(MULTIMODAL_KINDS, ['sinusoid', 'linear', 'quadratic', 'tanh', 'l1norm']);
    assert.deepEqual(MULTIMODAL_MODE_SETS[2], ['sinusoid', 'linear']);
    assert.deepEqual(MULTIMODAL_MODE_SETS[3], ['sinusoid', 'linear', 'quadratic']);
    assert.deepEqual(MULTIMODAL_MODE_SETS[5], ['sinusoid', 'linear', 'quadratic', 'tanh', 'l1norm']);
    assert.throws(() => sampleMultimodalTasks(new Rng(1), [], 1), /at least one mode/);
  });
});
