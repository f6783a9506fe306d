// Plots: each kind renders an SVG whose marks and legend match its data and a PNG
// that decodes, has the SVG's size times PNG_SCALE and is not blank; `metalearn
// plot-data` writes both files. Inputs come from tiny training runs, and the
// curves' smoothing from the committed runs' curves (read only).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import { useBackend } from '../src/kernels/backend.js';
import { loadModel, readRunDir } from '../src/run/checkpoint.js';
import { disposeModel } from '../src/run/format.js';
import type { Algorithm } from '../src/algorithms/index.js';
import { defaultsFor } from '../src/config/config.js';
import { resolveEvalConfig } from '../src/eval/options.js';
import { textWidthIn } from '../src/eval/font-metrics.js';
import { curvesPlot, familyPlot, fitPlot, FONT_FILES, lossesPlot, PNG_SCALE, seriesNames, type Plot } from '../src/eval/plots.js';
import { showNumber } from '../src/options/option.js';
import { familyOf } from '../src/tasks/index.js';
import { evaluateCheckpoints, type EvalReport } from '../src/eval/report.js';
import { train } from '../src/train/loop.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'metalearn-plots-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const runs = { maml: join(scratch, 'maml-run'), reptile: join(scratch, 'reptile-run') };
/** Learned rates beside the plain SGD of maml and reptile. */
const metaSgdRun = join(scratch, 'meta-sgd-run');
const mixedRuns = [runs.maml, runs.reptile, metaSgdRun];
const UPDATES = 3;
const SAMPLES = 4;

function evaluate(wave?: [number, number] | [number, number, number], more: Record<string, unknown> = {}, dirs = Object.values(runs)): EvalReport {
  const models = dirs.map((dir) => ({ dir, model: loadModel(dir) }));
  try {
    // One step size, as comparisons take (maml's and reptile's defaults differ).
    const settings = resolveEvalConfig({ samples: SAMPLES, updates: UPDATES, tasks: 20, lr: 0.01, ...(wave ? { wave } : {}), ...more });
    return evaluateCheckpoints(models, settings, models[0].model.info!.config);
  } finally {
    for (const { model } of models) tf.dispose(model.params);
  }
}

const count = (svg: string, pattern: RegExp) => svg.match(pattern)?.length ?? 0;
/** Paths of line marks, one per drawn line (Vega labels each for screen readers). */
const lines = (svg: string) => count(svg, /aria-roledescription="line mark"/g);
const areas = (svg: string) => count(svg, /aria-roledescription="area mark"/g);
const points = (svg: string) => count(svg, /aria-roledescription="point"/g);
const legendLabels = (svg: string) => [...svg.matchAll(/role-legend-label[^>]*><text[^>]*>([^<]*)</g)].map((m) => m[1]);
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)</g)].map((m) => m[1]);
/** Every line of text, one-line texts and the lines of multi-line ones (subtitles). */
const textLines = (svg: string) => [...svg.matchAll(/<(?:text|tspan)[^>]*>([^<]+)</g)].map((m) => m[1]);
const axisTitles = (svg: string) => [...svg.matchAll(/role-axis-title[^>]*><text[^>]*>([^<]*)</g)].map((m) => m[1]);
const svgWidth = (svg: string) => Number(/<svg[^>]*width="(\d+)"/.exec(svg)![1]);

/** Each line mark: its aria-label, its attributes and its vertices in the coordinates of its group. */
function lineMarks(svg: string): { label: string; attributes: string; points: [number, number][] }[] {
  return [...svg.matchAll(/<path aria-label="([^"]*)"([^>]*)aria-roledescription="line mark"([^>]*)>/g)].map(([, label, a, b]) => {
    const d = /\bd="([^"]*)"/.exec(b)![1];
    const points = [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
    return { label, attributes: a + b, points };
  });
}

/** How deep parentheses nest in a text: 1 for "a (b)", 2 for "a (b (c))". */
function nesting(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (const c of text) {
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}

const totalVariation = (ys: number[]) => ys.slice(1).reduce((sum, y, i) => sum + Math.abs(y - ys[i]), 0);

/** The PNG decodes, is PNG_SCALE times the SVG's size, and has both light and dark pixels. */
function checkPng(plot: Plot): void {
  const [, width, height] = /<svg[^>]*width="(\d+)" height="(\d+)"/.exec(plot.svg)!.map(Number);
  const png = PNG.sync.read(plot.png);
  assert.equal(png.width, width * PNG_SCALE);
  assert.equal(png.height, height * PNG_SCALE);
  let sum = 0;
  let sq = 0;
  const n = png.width * png.height;
  for (let i = 0; i < png.data.length; i += 4) {
    const grey = (png.data[i] + png.data[i + 1] + png.data[i + 2]) / 3;
    sum += grey;
    sq += grey * grey;
  }
  const variance = sq / n - (sum / n) ** 2;
  assert.ok(variance > 100, `PNG looks blank (grey variance ${variance.toFixed(1)})`);
}

describe('plots', () => {
  before(async () => {
    await useBackend('cpu');
    for (const [algo, runDir] of Object.entries(runs)) {
      const config = { ...defaultsFor(algo as Algorithm), hidden: [8], iterations: 5, metaBatch: 2, valTasks: 2, evalEvery: 2, logEvery: 1 };
      await train({ config, runDir, force: true });
    }
    await train({ config: { ...defaultsFor('meta-sgd'), hidden: [8], iterations: 5, metaBatch: 2, valTasks: 2 }, runDir: metaSgdRun, force: true });
  });

  it('family: one line per sampled wave, the family in the subtitle', async () => {
    const plot = await familyPlot(familyOf({ ...defaultsFor('maml'), phase: [0, 2 * Math.PI] }), 30, 7);
    assert.equal(lines(plot.svg), 30);
    assert.ok(texts(plot.svg).includes('A ∈ [0.1, 5], φ ∈ [0, 2π], x ∈ [−5, 5] (seed 7)'), texts(plot.svg).join(' | '));
    assert.ok(texts(plot.svg).includes('30 sampled tasks: y = A sin(x + φ)'), texts(plot.svg).join(' | '));
    checkPng(plot);
    const varying = await familyPlot(familyOf({ ...defaultsFor('maml'), frequency: [0.8, 1.2] }), 5, 7);
    assert.ok(texts(varying.svg).includes('5 sampled tasks: y = A sin(w x + φ)'), texts(varying.svg).join(' | '));
    assert.ok(texts(varying.svg).includes('A ∈ [0.1, 5], φ ∈ [0, π], w ∈ [0.8, 1.2], x ∈ [−5, 5] (seed 7)'), texts(varying.svg).join(' | '));
  });

  it('fit: the title names the wave, its frequency when it is not 1', async () => {
    assert.ok(texts((await fitPlot(evaluate([4, 1]))).svg).includes(`Fitting y = 4 sin(x + 1) from ${SAMPLES} points`));
    assert.ok(texts((await fitPlot(evaluate([4, 1, 1.5]))).svg).includes(`Fitting y = 4 sin(1.5 x + 1) from ${SAMPLES} points`));
  });

  it('fit: a panel per checkpoint with the wave, before, after and the support points', async () => {
    const plot = await fitPlot(evaluate([4, 1]));
    assert.equal(lines(plot.svg), 2 * 3);
    assert.equal(points(plot.svg), 2 * SAMPLES);
    assert.deepEqual(legendLabels(plot.svg), ['true wave', 'before fine-tuning', `after ${UPDATES} SGD updates`, `${SAMPLES} support points`]);
    for (const name of ['maml-run', 'reptile-run']) assert.ok(textLines(plot.svg).includes(name), name);
    checkPng(plot);
  });

  it('fit: a daml panel draws its curve adapted from unlabeled inputs, without the labeled points it never sees', async () => {
    const damlRun = join(scratch, 'daml-run');
    await train({ config: { ...defaultsFor('daml'), hidden: [8], adaptHidden: [4], iterations: 5, metaBatch: 2, valTasks: 2 }, runDir: damlRun, force: true });
    const models = [damlRun, runs.maml].map((dir) => ({ dir, model: loadModel(dir) }));
    const settings = resolveEvalConfig({ samples: SAMPLES, updates: UPDATES, wave: [1, Math.PI] });
    const report = evaluateCheckpoints(models, settings, models[0].model.info!.config);
    models.forEach(({ model }) => disposeModel(model));
    const { before, after } = report.results[0].predictions!;
    assert.ok(after.some((v, i) => v !== before[i]), 'daml adapted');
    const plot = await fitPlot(report);
    assert.equal(lines(plot.svg), 2 * 3);
    assert.equal(points(plot.svg), SAMPLES); // in the maml panel only
    assert.ok(textLines(plot.svg).some((t) => t.includes('daml: down its learned loss at unlabeled source inputs')));
  });

  it('fit: refuses a report made without --wave', async () => {
    await assert.rejects(fitPlot(evaluate()), /--wave/);
  });

  it('losses: a line and a confidence band per checkpoint, a point per update', async () => {
    const report = evaluate();
    const plot = await lossesPlot(report);
    assert.equal(lines(plot.svg), 2);
    assert.equal(areas(plot.svg), 2);
    assert.equal(points(plot.svg), 2 * (UPDATES + 1));
    assert.deepEqual(legendLabels(plot.svg), ['maml-run', 'reptile-run']);
    checkPng(plot);
  });

  it('losses: tasks counted as diverged are left out, and the legend says how many', async () => {
    const report = evaluate(undefined, { divergedAbove: 1 }); // a bound some of these tasks' losses pass
    const worst = report.results.map((r) => Math.max(...r.byUpdate.map((s) => s.diverged)));
    assert.ok(worst.every((d) => d > 0 && d < 20), `diverged: ${worst}`);
    const plot = await lossesPlot(report);
    assert.deepEqual(legendLabels(plot.svg), ['maml-run', 'reptile-run'].map((name, i) => `${name} (up to ${worst[i]}/20 diverged)`));
    assert.match(plot.svg, /confidence band; tasks that diverged are left out</);
    assert.doesNotMatch((await lossesPlot(evaluate())).svg, /diverged/);
  });

  it('curves: two meta-loss lines per run (as logged and smoothed), validation before and after per run', async () => {
    const plot = await curvesPlot(Object.values(runs).map((run) => ({ run, curve: readRunDir(run).curve! })));
    assert.equal(lines(plot.svg), 2 * 2 + 2 * 2);
    assert.equal(points(plot.svg), 2 * 2 * readRunDir(runs.maml).curve!.validation.length);
    assert.deepEqual(legendLabels(plot.svg), ['maml-run', 'reptile-run', 'after fine-tuning', 'before']);
    checkPng(plot);
  });

  it('losses: the lines span most of the canvas width, long legend labels or not', async () => {
    const plot = await lossesPlot(evaluate(undefined, { divergedAbove: 1 }, mixedRuns)); // labels that name divergences
    const xs = lineMarks(plot.svg).flatMap((line) => line.points.map(([x]) => x));
    const span = Math.max(...xs) - Math.min(...xs);
    assert.ok(span > 0.8 * svgWidth(plot.svg), `lines span ${span} of ${svgWidth(plot.svg)} px`);
    checkPng(plot);
  });

  it('losses and fit: no text nests parentheses, whatever the step sizes and divergences', async () => {
    const losses = await lossesPlot(evaluate(undefined, { divergedAbove: 1 }, mixedRuns));
    const fit = await fitPlot(evaluate([4, 1], {}, mixedRuns));
    for (const line of [...textLines(losses.svg), ...textLines(fit.svg)]) assert.ok(nesting(line) <= 1, line);
    assert.ok(legendLabels(losses.svg)[2].startsWith('meta-sgd-run, learned rates'), legendLabels(losses.svg).join(' | '));
  });

  it("losses and fit: the updates are named by the checkpoints' adaptations", async () => {
    const losses = async (more: Record<string, unknown>, dirs: string[]) => axisTitles((await lossesPlot(evaluate(undefined, more, dirs))).svg)[0];
    assert.equal(await losses({}, Object.values(runs)), 'SGD updates');
    assert.equal(await losses({}, mixedRuns), 'fine-tuning updates');
    assert.equal(await losses({}, [metaSgdRun]), 'SGD updates with learned rates');
    assert.equal(await losses({ plainSgd: true }, mixedRuns), 'SGD updates');
    const fit = await fitPlot(evaluate([4, 1], {}, mixedRuns));
    assert.ok(legendLabels(fit.svg).includes(`after ${UPDATES} fine-tuning updates`), legendLabels(fit.svg).join(' | '));
  });

  it("fit: each panel's title gives its grid MSE before and after fine-tuning, the report's", async () => {
    const report = evaluate([4, 1]);
    const titles = [...(await fitPlot(report)).svg.matchAll(/aria-label="Title text '([^']*)'"/g)].map((m) => m[1]);
    ['maml-run', 'reptile-run'].forEach((name, i) => {
      const title = titles.find((t) => t.startsWith(name));
      const shown = title && /grid MSE ([\d.e+-]+) before, ([\d.e+-]+) after/.exec(title);
      assert.ok(shown, `${name}: ${titles.join(' | ')}`);
      const [before, after] = [report.results[i].byUpdate[0].mean, report.results[i].byUpdate[UPDATES].mean];
      assert.ok(Math.abs(Number(shown[1]) - before) <= 5e-3 * before, `${shown[1]} shown, ${before} in the report`);
      assert.ok(Math.abs(Number(shown[2]) - after) <= 5e-3 * after, `${shown[2]} shown, ${after} in the report`);
    });
  });

  it("curves: each run's meta-loss drawn faint as logged and bold smoothed, which varies less; validation drawn in full", async () => {
    const dirs = ['reptile-paper-0', 'maml-paper-k5-0'].map((name) => join(root, 'checkpoints', 'shipped', name));
    const plot = await curvesPlot(dirs.map((run) => ({ run, curve: readRunDir(run).curve! })));
    const metaLoss = lineMarks(plot.svg).filter((line) => line.label.includes('meta-loss'));
    const faint = (line: { attributes: string }) => Number(/\bopacity="([\d.]+)"/.exec(line.attributes)?.[1] ?? 1) < 0.5;
    for (const name of ['reptile-paper-0', 'maml-paper-k5-0']) {
      const ofRun = metaLoss.filter((line) => line.label.endsWith(`run: ${name}`));
      const raw = ofRun.find(faint);
      const smoothed = ofRun.find((line) => !faint(line));
      assert.ok(raw && smoothed && ofRun.length === 2, `${name}: ${ofRun.length} meta-loss lines, ${ofRun.filter(faint).length} faint`);
      assert.equal(smoothed.points.length, raw.points.length);
      const [rawTv, smoothedTv] = [raw, smoothed].map((line) => totalVariation(line.points.map(([, y]) => y)));
      assert.ok(smoothedTv < rawTv / 2, `${name}: total variation ${smoothedTv} smoothed, ${rawTv} raw`);
    }
    const validation = lineMarks(plot.svg).filter((line) => line.label.includes('grid MSE'));
    assert.equal(validation.length, 2 * 2);
    assert.ok(!validation.some(faint));
    checkPng(plot);
  });

  it('text is laid out as wide as resvg draws it: within the side bearings of its ink', () => {
    const size = 12;
    for (const [i, weight] of ['normal', 'bold'].entries()) {
      const width = textWidthIn(FONT_FILES[i]);
      for (const text of ['mean grid MSE over 500 tasks and its 95% confidence band', 'WAVE mmm iii', 'x ∈ [−5, 5], φ ∈ [0, π]']) {
        const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="40"><text x="10" y="30" font-family="DejaVu Sans" font-weight="${weight}" font-size="${size}">${text}</text></svg>`;
        const ink = new Resvg(svg, { font: { loadSystemFonts: false, fontFiles: FONT_FILES, defaultFontFamily: 'DejaVu Sans' } }).getBBox()!.width;
        const laidOut = width(text) * size;
        assert.ok(laidOut >= ink && laidOut < ink + size / 3, `${weight} '${text}': ${laidOut} laid out, ${ink} drawn`);
      }
    }
  });

  it('names series by basename unless two coincide, and writes multiples of pi with π', () => {
    assert.deepEqual(seriesNames(['runs/a/', 'runs/b']), ['a', 'b']);
    assert.deepEqual(seriesNames(['x/maml-0', 'y/maml-0']), ['x/maml-0', 'y/maml-0']);
    assert.deepEqual([Math.PI, -Math.PI / 2, 2 * Math.PI, (3 * Math.PI) / 4, 0, -1.25, 0.1].map(showNumber), ['π', '−π/2', '2π', '3π/4', '0', '−1.25', '0.1']);
  });

  it('metalearn plot-data writes the SVG and the PNG; a fit from checkpoints needs --wave', () => {
    const metalearn = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'metalearn.js'), ...args], { cwd: scratch, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
    const report = join(scratch, 'eval.json');
    writeFileSync(report, JSON.stringify(evaluate()));
    const out = join(scratch, 'plots', 'losses');
    const r = metalearn('plot-data', 'losses', '--eval', report, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(`${out}.svg`));
    assert.deepEqual(legendLabels(readFileSync(`${out}.svg`, 'utf8')), ['maml-run', 'reptile-run']);
    assert.equal(PNG.sync.read(readFileSync(`${out}.png`)).width > 0, true);
    const noWave = metalearn('plot-data', 'fit', '--checkpoint', runs.maml);
    assert.equal(noWave.status, 2);
    assert.match(noWave.stderr, /--wave/);
  });
});
