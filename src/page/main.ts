// The page of `metalearn serve`: a target wave, support points the user clicks, and every chosen
// checkpoint fine-tuned on them in the browser by the CLI's own code: runs are read and checked
// by run-format.ts's parseRun over files fetched from the server, and fine-tuned by
// eval-checkpoints.ts's fineTuneCheckpoints, which adapts each checkpoint the way its algorithm's
// fineTuning says (plain SGD, Meta-SGD's learned rates, DAML's learned loss at unlabeled inputs).
// So the page's losses are those of `metalearn eval --wave A,phase,w --points x,...` (the command
// it shows). Plotting is plain canvas drawing.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { runtime, useBackend } from '../kernels/backend.js';
import { defaultConfig, type TrainConfig } from '../config/config.js';
import { fineTuneCheckpoints, type CheckpointResult } from '../eval/checkpoints.js';
import { resolveEvalConfig } from '../eval/options.js';
import { Rng } from '../core/rng.js';
import { configOf, disposeModel, filesNamedBy, MODEL_FILE, modelOf, parseRun, RunFileError, type LayersModelJson, type LoadedModel, type RunFiles } from '../run/format.js';
import { sampleInputs, sampleTasks, sineValue, type SineTask } from '../core/tasks.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
/** How often a chosen run's model.json is read again, to follow a run that is still training. */
const POLL_MS = 3000;

interface LoadedRun {
  name: string;
  model: LoadedModel;
  iteration: number | null;
  /** describeRun of the very model.json it was loaded from. */
  summary: string;
}

interface Listed {
  name: string;
  /** What it is, from model.json's metadata (algorithm and config). */
  summary: string;
  /** Its config's description, if any. */
  description: string;
  /** Its saved config (none for a plain layers model). */
  config?: Partial<TrainConfig>;
  /** The iteration its model.json was saved at, when listed. */
  iteration?: number;
  /** Why it cannot be used: missing or damaged files, as parseRun words it. */
  error?: string;
  loaded?: LoadedRun;
}

/** What the page shows, and what the browser test reads (window.metalearn). */
const state = {
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

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const round2 = (v: number) => Math.round(v * 100) / 100;

// ---------------------------------------------------------------- reading runs over HTTP

async function fetchBytes(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { cache: 'no-store' });
  } catch (e) {
    throw new RunFileError(`the server did not answer (${(e as Error).message})`, false);
  }
  if (!response.ok) throw new RunFileError(`${response.status} ${(await response.text()).slice(0, 200)}`, response.status === 404);
  return new Uint8Array(await response.arrayBuffer());
}

/** A run directory's files as parseRun reads them: model.json and the files it names, fetched first (a file that cannot be fetched fails when parseRun reads it). */
async function fetchRunFiles(name: string): Promise<RunFiles> {
  const base = `/checkpoints/${encodeURIComponent(name)}/`;
  const fetched = new Map<string, Uint8Array | RunFileError>();
  const get = async (file: string) => fetched.set(file, await fetchBytes(base + encodeURIComponent(file)).catch((e: RunFileError) => e));
  await get(MODEL_FILE);
  const model = fetched.get(MODEL_FILE);
  if (model instanceof Uint8Array) {
    let json: LayersModelJson | null = null;
    try {
      json = JSON.parse(new TextDecoder().decode(model)) as LayersModelJson;
    } catch {
      // parseRun says it is not JSON
    }
    if (json) await Promise.all(filesNamedBy(json).map(get));
  }
  const bytes = (file: string) => {
    const b = fetched.get(file) ?? new RunFileError('not named by model.json', true);
    if (b instanceof RunFileError) throw b;
    return b;
  };
  return { dir: `checkpoints/${name}`, path: (file) => `checkpoints/${name}/${file}`, size: (file) => bytes(file).length, read: bytes };
}

/** A run read and checked by parseRun; a training run may replace its files between the reads, so a missing file means: read it again. */
async function fetchRun(name: string): Promise<LoadedRun> {
  for (let attempt = 0; ; attempt++) {
    try {
      const files = await fetchRunFiles(name);
      const run = parseRun(files);
      const summary = describeRun(JSON.parse(new TextDecoder().decode(files.read(MODEL_FILE))) as LayersModelJson);
      return { name, model: modelOf(run), iteration: run.info?.iteration ?? null, summary };
    } catch (e) {
      if (!(e as { missing?: boolean }).missing || attempt >= 4) throw e;
    }
  }
}

/** "maml, 1-40-40-1 relu, K=10, inner lr 0.01 x1, iteration 70000": what a run is, from model.json's metadata. */
function describeRun(json: LayersModelJson): string {
  const meta = json.userDefinedMetadata?.metalearn;
  if (!meta?.config) return 'plain layers model (fine-tuned by plain SGD)';
  const c = meta.config as Partial<TrainConfig>;
  const parts = [c.algo, c.hidden ? `1-${c.hidden.join('-')}-1 ${c.activation ?? ''}` : null, c.support ? `K=${c.support}` : null, c.innerLr ? `inner lr ${c.innerLr} x${c.innerSteps ?? 1}` : null, `iteration ${meta.iteration}`];
  return parts.filter(Boolean).join(', ');
}

async function listRuns(): Promise<void> {
  const listing = (await (await fetch('/checkpoints/', { cache: 'no-store' })).json()) as { folder: string; runs: { name: string; error?: string }[] };
  $('folder').textContent = listing.folder;
  for (const { name, error } of listing.runs) {
    let json: LayersModelJson = {};
    let problem = error;
    if (!problem) {
      try {
        json = JSON.parse(new TextDecoder().decode(await fetchBytes(`/checkpoints/${encodeURIComponent(name)}/${MODEL_FILE}`))) as LayersModelJson;
      } catch (e) {
        problem = `model.json: ${(e as Error).message}`;
      }
    }
    const description = String(json.userDefinedMetadata?.metalearn?.config?.description ?? '');
    const config = json.userDefinedMetadata?.metalearn?.config as Partial<TrainConfig> | undefined;
    const iteration = json.userDefinedMetadata?.metalearn?.iteration;
    state.runs.set(name, { name, summary: problem ? '' : describeRun(json), description, ...(config ? { config } : {}), ...(typeof iteration === 'number' ? { iteration } : {}), ...(problem ? { error: problem } : {}) });
  }
  renderRunList();
}

function renderRunList(): void {
  const box = $('runs');
  box.replaceChildren();
  if (state.runs.size === 0) box.textContent = 'no run directories here: train one (npx metalearn train --algo maml), or pass --checkpoints';
  for (const run of state.runs.values()) {
    const label = document.createElement('label');
    label.className = 'run';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = run.name;
    input.checked = state.selected.includes(run.name);
    input.addEventListener('change', () => void choose(run.name, input.checked));
    label.append(input, ` ${run.name}`);
    const small = document.createElement('small');
    small.textContent = run.summary;
    label.title = run.description;
    label.append(small);
    if (run.error) {
      const err = document.createElement('small');
      err.className = 'error';
      err.textContent = run.error;
      label.append(err);
    }
    box.append(label);
  }
}

async function choose(name: string, on: boolean): Promise<void> {
  const run = state.runs.get(name)!;
  state.selected = on ? [...state.selected.filter((n) => n !== name), name] : state.selected.filter((n) => n !== name);
  if (on && !run.loaded) {
    try {
      run.loaded = await fetchRun(name);
      run.summary = run.loaded.summary; // the list was read earlier: a training run may have moved on since
      delete run.error;
    } catch (e) {
      run.error = (e as Error).message;
    }
    renderRunList();
  }
  compute();
}

/** Reads each chosen run's model.json again; a run that committed a newer checkpoint is reloaded (its curve grows). */
async function poll(): Promise<void> {
  let changed = false;
  for (const name of state.selected) {
    const run = state.runs.get(name)!;
    if (!run.loaded) continue;
    try {
      const json = JSON.parse(new TextDecoder().decode(await fetchBytes(`/checkpoints/${encodeURIComponent(name)}/${MODEL_FILE}`))) as LayersModelJson;
      if ((json.userDefinedMetadata?.metalearn?.iteration ?? null) === run.loaded.iteration) continue;
      const fresh = await fetchRun(name);
      disposeModel(run.loaded.model);
      run.loaded = fresh;
      run.summary = fresh.summary; // the checkpoint loaded, which may be newer than the model.json read above
      delete run.error;
    } catch (e) {
      run.error = (e as Error).message;
    }
    // at once, not after the other runs' fetches: the list never names an iteration the loaded run is not at
    changed = true;
    renderRunList();
  }
  if (changed) compute();
  setTimeout(() => void poll(), POLL_MS);
}

// ---------------------------------------------------------------- fine-tuning

/** The eval settings of the page's state, checked as eval checks them. */
function settings(points: number[], updates: number) {
  const { amplitude, phase, frequency } = state.wave;
  return resolveEvalConfig({ wave: [amplitude, phase, frequency], points, updates, lr: state.lr, xRange: state.xRange });
}

/** Fine-tunes every chosen run on the support points, as eval does, one run at a time (each on its own task family, daml's source domains among it). */
function compute(): void {
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
  render();
}

// ---------------------------------------------------------------- drawing

interface Frame {
  ctx: CanvasRenderingContext2D;
  px: (x: number) => number;
  py: (y: number) => number;
  x: (px: number) => number;
}

/** A canvas scaled for the screen, with axes over [x0, x1] x [y0, y1]; log: a log10 y axis. */
function frame(canvas: HTMLCanvasElement, [x0, x1]: [number, number], [y0, y1]: [number, number], log = false, xTicks?: number[]): Frame {
  const ratio = window.devicePixelRatio || 1;
  const w = Number(canvas.dataset.w ?? canvas.width);
  const h = Number(canvas.dataset.h ?? canvas.height);
  Object.assign(canvas.dataset, { w, h });
  canvas.width = w * ratio;
  canvas.height = h * ratio;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const [left, right, top, bottom] = [44, 8, 8, 24];
  const ty = (y: number) => (log ? Math.log10(y) : y);
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (w - left - right);
  const py = (y: number) => top + (1 - (ty(y) - ty(y0)) / (ty(y1) - ty(y0))) * (h - top - bottom);
  ctx.strokeStyle = '#999';
  ctx.fillStyle = '#555';
  ctx.font = '11px "DejaVu Sans", sans-serif';
  ctx.strokeRect(left, top, w - left - right, h - top - bottom);
  ctx.textAlign = 'center';
  for (const x of xTicks ?? niceTicks(x0, x1)) ctx.fillText(String(+x.toFixed(2)), px(x), h - 8);
  ctx.textAlign = 'right';
  const yTicks = log ? Array.from({ length: Math.floor(Math.log10(y1)) - Math.ceil(Math.log10(y0)) + 1 }, (_, i) => 10 ** (Math.ceil(Math.log10(y0)) + i)) : niceTicks(y0, y1);
  for (const y of yTicks) ctx.fillText(log ? String(y) : String(+y.toFixed(2)), left - 4, py(y) + 4);
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, w - left - right, h - top - bottom);
  ctx.clip();
  return { ctx, px, py, x: (p: number) => x0 + ((p - left) / (w - left - right)) * (x1 - x0) };
}

function niceTicks(lo: number, hi: number): number[] {
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 4));
  const s = [1, 2, 5, 10].map((m) => m * step).find((m) => (hi - lo) / m <= 6)!;
  return Array.from({ length: Math.floor(hi / s) - Math.ceil(lo / s) + 1 }, (_, i) => (Math.ceil(lo / s) + i) * s);
}

function polyline(f: Frame, xs: number[], ys: number[], color: string, width = 2, dash: number[] = []): void {
  f.ctx.strokeStyle = color;
  f.ctx.lineWidth = width;
  f.ctx.setLineDash(dash);
  f.ctx.beginPath();
  xs.forEach((x, i) => (i ? f.ctx.lineTo(f.px(x), f.py(ys[i])) : f.ctx.moveTo(f.px(x), f.py(ys[i]))));
  f.ctx.stroke();
  f.ctx.setLineDash([]);
}

function dot(f: Frame, x: number, y: number, color: string, r = 4.5, shape: 'circle' | 'triangle' = 'circle'): void {
  f.ctx.fillStyle = color;
  f.ctx.beginPath();
  if (shape === 'circle') f.ctx.arc(f.px(x), f.py(y), r, 0, 2 * Math.PI);
  else {
    f.ctx.moveTo(f.px(x), f.py(y) - r);
    f.ctx.lineTo(f.px(x) - r, f.py(y) + r);
    f.ctx.lineTo(f.px(x) + r, f.py(y) + r);
  }
  f.ctx.fill();
}

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

/** A run's colour: by the order in which runs were chosen, so the first three are blue, red, green. */
const colorOf = (name: string) => COLORS[Math.max(0, state.selected.indexOf(name)) % COLORS.length];

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

function render(): void {
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

// ---------------------------------------------------------------- controls

function bindControls(): void {
  const wave = (key: keyof SineTask) => {
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

/** A new page's runs: a maml run (the furthest trained first) with a reptile and a transfer run of its task family, those of the most settings alike. */
function firstComparison(): string[] {
  // runs saved before --frequency existed have none in their config: the fixed frequency 1
  const family = (c?: Partial<TrainConfig>) => JSON.stringify([c?.amplitude, c?.phase, c?.phases, c?.frequency ?? [1, 1], c?.xRange]);
  const alike = (a: Partial<TrainConfig>, b: Partial<TrainConfig>) => (['support', 'hidden', 'activation', 'iterations', 'metaBatch'] as const).filter((k) => JSON.stringify(a[k]) === JSON.stringify(b[k])).length;
  const runs = [...state.runs.values()].filter((r) => !r.error && r.config);
  const mamls = runs.filter((r) => r.config!.algo === 'maml').sort((a, b) => (b.iteration ?? 0) - (a.iteration ?? 0));
  for (const maml of mamls) {
    const others = (['reptile', 'transfer'] as const).map((algo) =>
      runs.filter((r) => r.config!.algo === algo && family(r.config) === family(maml.config)).sort((a, b) => alike(b.config!, maml.config!) - alike(a.config!, maml.config!))[0],
    );
    if (others.every(Boolean)) return [maml.name, ...others.map((r) => r!.name)];
  }
  return [];
}

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
  setTimeout(() => void poll(), POLL_MS);
}

start().catch((e: unknown) => {
  $('runtime').textContent = `the page did not start: ${(e as Error).message}`;
  $('runtime').className = 'error';
});
