// The page's plots, drawn again from the state after each computation: the wave panel(s), which a
// click adds a support point to or removes one from, the losses after each update, the training curves.
import { sineValue } from '../tasks/sine.js';
import { dot, frame, polyline } from './canvas.js';
import { $, round2 } from './dom.js';
import { compute, state } from './state.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/** A run's colour: by the order in which runs were chosen, so the first three are blue, red, green. */
const colorOf = (name: string) => COLORS[Math.max(0, state.selected.indexOf(name)) % COLORS.length];

function yLimit(): number {
  return Math.max(5, ...state.selected.map((n) => state.runs.get(n)?.loaded?.model.info?.config.amplitude[1] ?? 0)) * 1.25;
}

/** One panel: the wave, the support points, each run's fit before (dashed) and after state.step updates, daml's unlabeled inputs. */
function drawWave(canvas: HTMLCanvasElement, names: string[]): void {
  const lim = yLimit();
  const f = frame(canvas, state.xRange, [-lim, lim]);
  const gridX = state.grid.x.length ? state.grid.x : [state.xRange[0], state.xRange[1]];
  const fine = Array.from({ length: 400 }, (_, i) => state.xRange[0] + ((state.xRange[1] - state.xRange[0]) * i) / 399);
  polyline(f, fine, fine.map((x) => sineValue(state.wave, x)), '#bbb', 3);
  for (const name of names) {
    const r = state.results.get(name);
    if (!r?.predictionsByUpdate) continue;
    const color = colorOf(name);
    const step = Math.min(state.step, r.predictionsByUpdate.length - 1);
    polyline(f, gridX, r.predictionsByUpdate[0], color, 1.5, [5, 4]);
    if (step > 0) polyline(f, gridX, r.predictionsByUpdate[step], color, 2.5);
    // daml's inputs of the updates shown, on the x axis: it adapts from these, not from the points
    for (const x of r.unlabeledByUpdate?.slice(0, step).flat() ?? []) dot(f, x, -lim * 0.93, color, 4, 'triangle');
  }
  for (const x of state.points) dot(f, x, sineValue(state.wave, x), '#000');
  f.ctx.restore();
  canvas.onclick = (e) => {
    const rect = canvas.getBoundingClientRect();
    const x = round2(f.x(e.clientX - rect.left));
    if (x < state.xRange[0] || x > state.xRange[1]) return;
    const near = state.points.findIndex((p) => Math.abs(f.px(p) - f.px(x)) < 7);
    state.points = near >= 0 ? state.points.filter((_, i) => i !== near) : [...state.points, x].sort((a, b) => a - b);
    compute();
  };
}

function drawLosses(): void {
  const canvas = $<HTMLCanvasElement>('losses');
  const series = state.selected.filter((n) => state.results.get(n)).map((n) => ({ name: n, y: state.results.get(n)!.byUpdate.map((s) => s.mean) }));
  const all = series.flatMap((s) => s.y).filter((v) => v > 0 && Number.isFinite(v));
  const lo = all.length ? 10 ** Math.floor(Math.log10(Math.min(...all))) : 0.01;
  const hi = all.length ? 10 ** Math.ceil(Math.log10(Math.max(...all))) : 10;
  const f = frame(canvas, [0, Math.max(1, state.updates)], [lo, hi === lo ? lo * 10 : hi], true);
  f.ctx.strokeStyle = '#ccc';
  f.ctx.beginPath();
  f.ctx.moveTo(f.px(state.step), f.py(lo));
  f.ctx.lineTo(f.px(state.step), f.py(hi));
  f.ctx.stroke();
  for (const s of series) {
    const xs = s.y.map((_, u) => u);
    polyline(f, xs, s.y, colorOf(s.name));
    s.y.forEach((v, u) => dot(f, u, v, colorOf(s.name), 2.5));
  }
  f.ctx.restore();
  legend(f.ctx, series.map((s) => s.name), Number(canvas.dataset.w));
}

/** The runs' names in their colours, top right. */
function legend(ctx: CanvasRenderingContext2D, names: string[], width: number): void {
  ctx.textAlign = 'right';
  ctx.font = '12px "DejaVu Sans", sans-serif';
  names.forEach((name, i) => {
    ctx.fillStyle = colorOf(name);
    ctx.fillText(`${name} ■`, width - 14, 24 + 15 * i);
  });
}

function drawCurves(): void {
  const canvas = $<HTMLCanvasElement>('curves');
  const series = state.selected.map((n) => ({ name: n, v: state.runs.get(n)?.loaded?.model.curve?.validation ?? [] })).filter((s) => s.v.length);
  const its = series.flatMap((s) => s.v.map((p) => p.iteration));
  const all = series.flatMap((s) => s.v.map((p) => p.after)).filter((v) => v > 0 && Number.isFinite(v));
  const lo = all.length ? 10 ** Math.floor(Math.log10(Math.min(...all))) : 0.01;
  const hi = all.length ? 10 ** Math.ceil(Math.log10(Math.max(...all))) : 10;
  const f = frame(canvas, [0, Math.max(1, ...its)], [lo, hi === lo ? lo * 10 : hi], true);
  for (const s of series) polyline(f, s.v.map((p) => p.iteration), s.v.map((p) => p.after), colorOf(s.name), 1.5);
  f.ctx.restore();
  legend(f.ctx, series.map((s) => s.name), Number(canvas.dataset.w));
}

export function render(): void {
  const panels = $('panels');
  panels.replaceChildren();
  const groups = state.overlay ? [state.selected] : state.selected.map((n) => [n]);
  for (const names of groups.length ? groups : [[]]) {
    const div = document.createElement('div');
    div.className = 'panel';
    const title = document.createElement('h2');
    title.textContent = names.length ? '' : 'choose checkpoints on the left';
    for (const name of names) {
      const r = state.results.get(name);
      const span = document.createElement('span');
      span.style.color = colorOf(name);
      const how = r ? ` (${r.adaptation === 'sgd' ? `SGD, lr ${r.lr}` : r.adaptation === 'learned rates' ? "Meta-SGD's learned rates" : `DAML's learned loss at unlabeled inputs (triangles), lr ${r.lr}`})` : '';
      span.textContent = `■ ${name}${how} `;
      title.append(span);
      const error = state.runs.get(name)?.error;
      if (error) {
        const p = document.createElement('div');
        p.className = 'error';
        p.textContent = error;
        div.append(p);
      }
    }
    // up to three panels side by side, as wide as the page allows
    const across = Math.min(3, groups.length || 1);
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(300, Math.min(640, Math.floor((panels.clientWidth - 14 * across) / across) - 8));
    canvas.height = Math.round(canvas.width * 0.6);
    div.prepend(title);
    div.append(canvas);
    panels.append(div);
    drawWave(canvas, names);
  }
  drawLosses();
  drawCurves();
  $('points').textContent = state.points.length ? `x = ${state.points.join(', ')}` : 'no points yet: click the plot';
  const { amplitude, phase, frequency } = state.wave;
  const lr = state.lr === undefined ? '' : ` --lr ${state.lr}`;
  $('command').textContent = state.points.length && state.selected.length
    ? `the same in the terminal, per checkpoint:\nnpx metalearn eval --checkpoint checkpoints/<name> --wave ${amplitude},${phase},${frequency} --points ${state.points.join(',')} --x-range=${state.xRange.join(',')} --updates ${state.updates}${lr}`
    : '';
  for (const [id, v] of [['amplitude', amplitude], ['phase', phase], ['frequency', frequency], ['step', state.step]] as const) $<HTMLOutputElement>(id).nextElementSibling!.textContent = String(v);
}
