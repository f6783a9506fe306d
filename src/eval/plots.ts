// Plots of the task family, of fits, of the loss after each fine-tuning update and
// of training curves. Each is a Vega-Lite spec, rendered headlessly to SVG by Vega and
// rasterised to PNG by resvg. Text is set in DejaVu Sans from the dejavu-fonts-ttf
// package and system fonts are ignored, so a PNG looks the same on every machine.
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Curve } from '../run/format.js';
import { UsageError } from '../base/errors.js';
import type { AdaptationKind } from '../core/adapt.js';
import type { Summary } from '../core/stats.js';
import type { CheckpointResult } from './checkpoints.js';
import type { EvalReport } from './report.js';
import type { TaskFamily } from '../tasks/family.js';
import { showNumber } from '../options/option.js';
import { textWidthIn } from './font-metrics.js';

export interface Plot {
  svg: string;
  png: Buffer;
}

/** PNG pixels per SVG pixel: sharp in a README and on high-density screens. */
export const PNG_SCALE = 2;

const FONT = 'DejaVu Sans';
const require = createRequire(import.meta.url);
/** The font's files, regular and bold. */
export const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => require.resolve(`dejavu-fonts-ttf/ttf/${f}`));

/** What the width of a Vega text item depends on, besides its text. */
interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}
const [regularWidth, boldWidth] = FONT_FILES.map(textWidthIn);
/**
 * Vega lays text out by the width textMetrics.width gives it (font-metrics.ts says why): here the font's
 * own, as resvg draws it, and at most the item's limit, past which Vega truncates the text to fit.
 */
(vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics.width = (item, text) => {
  const size = item.fontSize ?? 11; // Vega's default
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
  const width = (bold ? boldWidth : regularWidth)(String(text ?? '').trim()) * size;
  return item.limit ? Math.min(width, item.limit) : width;
};

const CONFIG = {
  // SVG viewers without DejaVu Sans fall back to their own sans-serif.
  font: `${FONT}, sans-serif`,
  title: { anchor: 'start' as const, fontSize: 15, subtitleFontSize: 12, subtitleColor: '#444' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 400 },
  header: { labelFontSize: 13, labelFontWeight: 'bold' as const },
};

/** Renders a Vega-Lite spec to SVG and PNG. */
export async function render(spec: TopLevelSpec): Promise<Plot> {
  const view = new vega.View(vega.parse(compile({ ...spec, config: CONFIG }).spec), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: PNG_SCALE },
    font: { loadSystemFonts: false, fontFiles: FONT_FILES, defaultFontFamily: FONT, sansSerifFamily: FONT },
  })
    .render()
    .asPng();
  return { svg, png };
}

/** Legend and panel names for run directories: their basenames, or the paths as given when two basenames coincide. */
export function seriesNames(dirs: string[]): string[] {
  const names = dirs.map((d) => basename(d.replace(/[/\\]+$/, '')) || d);
  return new Set(names).size === names.length ? names : dirs;
}

/** Legend symbols drawn as line segments long enough to show a dash pattern. */
const STROKE_SYMBOLS = { symbolType: 'stroke', symbolSize: 500 };

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A checkpoint's fine-tuning step size: "lr 0.01", or "learned rates". */
const stepSize = (r: CheckpointResult) => (r.lr === 'learned' ? 'learned rates' : `lr ${r.lr}`);

/** The step size every checkpoint fine-tunes with, for a subtitle; null when they differ, and each checkpoint's name carries its own. */
function sharedStepSize(report: EvalReport): string | null {
  const sizes = new Set(report.results.map(stepSize));
  return sizes.size === 1 ? [...sizes][0] : null;
}

/** The checkpoints' names for a legend or panels, each with its step size when they differ ("meta-sgd-paper-0, learned rates"). */
function checkpointNames(report: EvalReport): string[] {
  const names = seriesNames(report.results.map((r) => r.checkpoint));
  return sharedStepSize(report) ? names : names.map((name, i) => `${name}, ${stepSize(report.results[i])}`);
}

/** One update of each adaptation as the plots name it: a noun, and what follows its plural. */
const UPDATE_NAMES: Record<AdaptationKind, [noun: string, qualifier: string]> = {
  sgd: ['SGD update', ''],
  'learned rates': ['SGD update', ' with learned rates'],
  'head only': ['SGD update', ' of the head'],
  context: ['SGD update', ' of the context'],
  'learned loss': ['update', ' down the learned loss'],
};

/** The report's fine-tuning updates ("SGD updates" only when every checkpoint takes plain SGD), `count` of them when given. */
function updatesName(report: EvalReport, count?: number): string {
  const kinds = new Set(report.results.map((r) => r.adaptation));
  const [noun, qualifier] = kinds.size === 1 ? UPDATE_NAMES[[...kinds][0]] : ['fine-tuning update', ''];
  return `${count === undefined ? `${noun}s` : plural(count, noun)}${qualifier}`;
}

/** `count` tasks of the family drawn from `seed`, as the family sketches them (a sine wave each, a data task's points). */
export async function familyPlot(family: TaskFamily, count: number, seed: number): Promise<Plot> {
  const sketch = family.sketch(count, seed);
  return render({
    title: { text: `${plural(count, 'sampled task')}: ${sketch.title}`, subtitle: sketch.subtitle },
    width: 560,
    height: 300,
    data: { values: sketch.values },
    // Faint marks, so that where many tasks pass the picture darkens.
    mark: sketch.mark === 'line' ? { type: 'line', strokeWidth: 1, opacity: Math.min(0.6, 50 / count), color: '#1f5fa8' } : { type: 'point', size: 12, filled: true, opacity: Math.min(0.6, 50 / count), color: '#1f5fa8' },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: sketch.xTitle, scale: { domain: sketch.xDomain, nice: false } },
      y: { field: 'y', type: 'quantitative', title: 'y' },
      detail: { field: 'task', type: 'nominal' },
    },
  });
}

/** A panel's grid MSE (of the one task of a --wave report), to 3 significant digits. */
const showMse = (s: Summary) => (s.diverged === s.n ? 'diverged' : String(+s.mean.toPrecision(3)));

/** The fit's title: the wave, how many points, and how each model adapts to them. */
function fitTitle(report: EvalReport): { text: string; subtitle: string } {
  const wave = report.wave!;
  const { samples, updates } = report.settings;
  const frequency = wave.frequency ?? 1; // reports from before frequencies existed have none
  const target = `y = ${showNumber(wave.amplitude)} sin(${frequency === 1 ? '' : `${showNumber(frequency)} `}x + ${showNumber(wave.phase)})`;
  const unlabeled = report.results.filter((r) => r.adaptation === 'learned loss').length;
  const shared = sharedStepSize(report);
  const lr = shared ? `, ${shared}` : '';
  if (unlabeled === report.results.length) {
    return { text: `Adapting to ${target} from unlabeled source inputs`, subtitle: `each model: ${plural(updates, 'step')} down its learned loss, ${plural(samples, 'new input')} each${lr}` };
  }
  const daml = unlabeled ? '; daml: down its learned loss at unlabeled source inputs' : '';
  return { text: `Fitting ${target} from ${plural(samples, 'point')}`, subtitle: `each model: ${updatesName(report, updates)} on the same points${lr}${daml}` };
}

/**
 * From an eval report made with --wave: per checkpoint, the support points, the true wave, and the model before
 * and after fine-tuning, in a panel titled with its grid MSE before and after.
 */
export async function fitPlot(report: EvalReport): Promise<Plot> {
  const wave = report.wave;
  if (!wave || report.results.some((r) => !r.predictions)) throw new UsageError('the eval report has no wave predictions: run `metalearn eval` with --wave A,phase');
  const { samples, updates } = report.settings;
  const lines = ['true wave', 'before fine-tuning', `after ${updatesName(report, updates)}`];
  const points = plural(samples, 'support point');
  const names = checkpointNames(report);
  // Two lines per panel title, split at '\n' by the header's labelExpr.
  const panels = report.results.map((r, i) => `${names[i]}\ngrid MSE ${showMse(r.byUpdate[0])} before, ${showMse(r.byUpdate[updates])} after`);
  const values = report.results.flatMap((r, i) => {
    const curve = (s: string, ys: number[]) => wave.gridX.map((x, j) => ({ panel: panels[i], series: s, x, y: ys[j] }));
    return [
      ...curve(lines[0], wave.gridY),
      ...curve(lines[1], r.predictions!.before),
      ...curve(lines[2], r.predictions!.after),
      // daml never sees the labeled points: it adapts from unlabeled source inputs
      ...(r.adaptation === 'learned loss' ? [] : wave.x.map((x, j) => ({ panel: panels[i], points, x, y: wave.y[j] }))),
    ];
  });
  // Lines and points are in fields of their own, so that each gets a legend whose symbols look like its marks.
  const legend = { title: null };
  const lineLegend = { ...legend, ...STROKE_SYMBOLS, symbolStrokeWidth: 2.5 };
  const x = { field: 'x', type: 'quantitative' as const, title: 'x', scale: { domain: (report.family as { xRange: [number, number] }).xRange, nice: false } };
  const y = { field: 'y', type: 'quantitative' as const, title: 'y' };
  return render({
    title: fitTitle(report),
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels, header: { labelExpr: "split(datum.value, '\\n')" } },
    columns: Math.min(names.length, 3),
    spec: {
      width: 300,
      height: 220,
      layer: [
        {
          transform: [{ filter: 'datum.series != null' }],
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x,
            y,
            color: { field: 'series', type: 'nominal', sort: lines, scale: { domain: lines, range: ['#222222', '#f58518', '#1f5fa8'] }, legend: lineLegend },
            strokeDash: { field: 'series', type: 'nominal', sort: lines, scale: { domain: lines, range: [[1, 0], [6, 4], [1, 0]] }, legend: lineLegend },
          },
        },
        {
          transform: [{ filter: 'datum.points != null' }],
          mark: { type: 'point', filled: true, size: 50, color: '#d62728', opacity: 1 },
          encoding: { x, y, shape: { field: 'points', type: 'nominal', scale: { range: ['circle'] }, legend } },
        },
      ],
    },
  });
}

/** The losses' subtitle: what the lines and bands are; each task's support points, and the step size when the checkpoints share it. */
function lossesSubtitle(report: EvalReport): string[] {
  const { samples, tasks, sampleRange } = report.settings;
  const diverged = report.results.some((r) => r.byUpdate.some((s) => s.diverged));
  const shared = sharedStepSize(report);
  return [
    `mean grid MSE over ${plural(tasks, 'task')} and its 95% confidence band${diverged ? '; tasks that diverged are left out' : ''}`,
    `K=${samples} support points per task${sampleRange ? `, from [${sampleRange.map(showNumber).join(', ')}]` : ''}${shared ? `; ${shared}` : ''}`,
  ];
}

/**
 * From an eval report: the mean grid loss after each fine-tuning update, one line per checkpoint,
 * with its 95% confidence band. Tasks that diverged are left out of the means, and the legend says
 * how many at most; an update where every task diverged has no point.
 */
export async function lossesPlot(report: EvalReport): Promise<Plot> {
  const labels = checkpointNames(report).map((name, i) => {
    const worst = Math.max(...report.results[i].byUpdate.map((s) => s.diverged));
    return worst ? `${name} (up to ${worst}/${report.settings.tasks} diverged)` : name;
  });
  const values = report.results.flatMap((r, i) => r.byUpdate.filter((s) => s.diverged < s.n).map((s) => ({ checkpoint: labels[i], update: s.update, mean: s.mean, lo: s.mean - s.ci95, hi: s.mean + s.ci95 })));
  const x = { field: 'update', type: 'quantitative' as const, title: updatesName(report), scale: { domain: [0, report.settings.updates], nice: false }, axis: { tickMinStep: 1, format: 'd' } };
  // Opaque legend symbols, not the faint ones of the bands; below the plot, which a legend beside it would narrow.
  const legend = { symbolOpacity: 1, orient: 'bottom' as const, direction: 'vertical' as const };
  const color = { field: 'checkpoint', type: 'nominal' as const, title: 'checkpoint', sort: labels, scale: { domain: labels }, legend };
  return render({
    title: { text: 'Loss after each fine-tuning update', subtitle: lossesSubtitle(report) },
    width: 640,
    height: 320,
    data: { values },
    layer: [
      { mark: { type: 'area', opacity: 0.25 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'mean squared error on the x grid' }, y2: { field: 'hi' }, color } },
      { mark: { type: 'line', point: true, strokeWidth: 2 }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color } },
    ],
  });
}

export interface RunCurve {
  /** The run directory, named in the legend by its basename. */
  run: string;
  curve: Curve;
}

/** How many logged meta-losses the smoothed meta-loss averages around each. */
const SMOOTHED_POINTS = 21;

/**
 * The moving geometric mean of SMOOTHED_POINTS losses centred on each (fewer near the ends, as many on
 * each side): on the log axis, the middle of the noise, which an arithmetic mean's spikes would lift.
 */
function smoothed(losses: number[]): number[] {
  const logs = losses.map(Math.log);
  return logs.map((_, i) => {
    const half = Math.min((SMOOTHED_POINTS - 1) / 2, i, logs.length - 1 - i);
    const window = logs.slice(i - half, i + half + 1);
    return Math.exp(window.reduce((sum, l) => sum + l, 0) / window.length);
  });
}

/** Each run's logged meta-losses, each with its smoothed value. */
function metaLosses(runs: RunCurve[], names: string[]) {
  return runs.flatMap((r, i) => {
    const smooth = smoothed(r.curve.train.map((p) => p.metaLoss));
    return r.curve.train.map((p, j) => ({ run: names[i], iteration: p.iteration, loss: p.metaLoss, smoothed: smooth[j] }));
  });
}

/** Training curves of runs: the meta-loss as logged and smoothed, and the validation loss before and after fine-tuning, against the iteration. */
export async function curvesPlot(runs: RunCurve[]): Promise<Plot> {
  const names = seriesNames(runs.map((r) => r.run));
  const stages = ['after fine-tuning', 'before'];
  const validation = runs.flatMap((r, i) =>
    r.curve.validation.flatMap((p) => [
      { run: names[i], iteration: p.iteration, stage: stages[0], loss: p.after },
      { run: names[i], iteration: p.iteration, stage: stages[1], loss: p.before },
    ]),
  );
  // Opaque legend symbols, not the faint ones of the logged meta-loss.
  const color = { field: 'run', type: 'nominal' as const, title: 'run', sort: names, scale: { domain: names }, legend: { symbolOpacity: 1 } };
  const x = { field: 'iteration', type: 'quantitative' as const, title: 'meta-iteration', axis: { tickMinStep: 1, format: ',d' } };
  // Losses fall by orders of magnitude during training.
  const y = (title: string, field = 'loss') => ({ field, type: 'quantitative' as const, title, scale: { type: 'log' as const } });
  return render({
    title: {
      text: `Meta-training of ${plural(runs.length, 'run')}`,
      subtitle: [
        'meta-loss: the objective each algorithm steps on, logged as its mean over each logging window',
        `faint: as logged; bold: the geometric mean of the ${SMOOTHED_POINTS} logged values around each`,
        'validation: grid MSE of the fixed validation tasks before and after fine-tuning',
      ],
    },
    hconcat: [
      {
        title: 'meta-loss',
        width: 380,
        height: 280,
        data: { values: metaLosses(runs, names) },
        // The logged values faint, so that a noisy run's (reptile's) spikes hide no other run; its smoothed line over them.
        layer: [
          { mark: { type: 'line', strokeWidth: 1, opacity: 0.3 }, encoding: { x, y: y('meta-loss'), color } },
          { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: y('meta-loss', 'smoothed'), color } },
        ],
      },
      {
        title: 'validation loss',
        width: 380,
        height: 280,
        data: { values: validation },
        layer: [
          {
            mark: { type: 'line', strokeWidth: 2 },
            encoding: {
              x,
              y: y('grid MSE'),
              color,
              strokeDash: { field: 'stage', type: 'nominal', title: 'validation', sort: stages, scale: { domain: stages, range: [[1, 0], [5, 4]] }, legend: { ...STROKE_SYMBOLS, symbolStrokeColor: '#444', symbolStrokeWidth: 2 } },
            },
          },
          // Points in a layer of their own (in the line's layer they would turn the dash legend into dots), so that a run validated once (random) shows.
          { mark: { type: 'point', filled: true, size: 16, opacity: 1 }, encoding: { x, y: y('grid MSE'), color } },
        ],
      },
    ],
  });
}
