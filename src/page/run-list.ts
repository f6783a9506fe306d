// The list of runs: listed from the server, chosen by their checkboxes (a new page chooses a first
// comparison), and polled, so that a run still training is followed.
import type { TrainConfig } from '../config/config.js';
import { disposeModel } from '../run/format.js';
import { $ } from './dom.js';
import { fetchListing, fetchModelJson, fetchRun, isShippedKey, listed, shippedKey, type Listed } from './runs.js';
import { compute, state } from './state.js';

/** How often a chosen run's model.json is read again, to follow a run that is still training. */
const POLL_MS = 3000;

/** The user's runs, then the shipped ones (keyed shipped/<name>), in the listing's order. */
export async function listRuns(): Promise<void> {
  const listing = await fetchListing();
  $('folder').textContent = listing.folder;
  for (const { name, error } of listing.runs) state.runs.set(name, await listed(name, error));
  for (const { name, error } of listing.shipped) state.runs.set(shippedKey(name), await listed(shippedKey(name), error));
  renderRunList();
}

/** A run's line in the list: its checkbox, its name (label: shown in its place, e.g. a shipped run's seed), what it is, why it cannot be used. */
function runLine(run: Listed, label = run.name.replace(/^shipped\//, '')): HTMLElement {
  const line = document.createElement('label');
  line.className = 'run';
  const input = document.createElement('input');
  input.type = 'checkbox';
  input.value = run.name;
  input.checked = state.selected.includes(run.name);
  input.addEventListener('change', () => void choose(run.name, input.checked));
  line.append(input, ` ${label}`);
  const small = document.createElement('small');
  small.textContent = run.summary;
  line.title = run.description;
  line.append(small);
  if (run.error) {
    const err = document.createElement('small');
    err.className = 'error';
    err.textContent = run.error;
    line.append(err);
  }
  return line;
}

/** The shipped runs by config: <config>-<seed> grouped under <config>, open where one of them is chosen. */
function shippedGroups(runs: Listed[]): HTMLElement[] {
  const groups = new Map<string, Listed[]>();
  for (const run of runs) {
    const stem = run.name.replace(/^shipped\//, '').replace(/-\d+$/, '');
    groups.set(stem, [...(groups.get(stem) ?? []), run]);
  }
  return [...groups].map(([stem, members]) => {
    const details = document.createElement('details');
    details.open = members.some((r) => state.selected.includes(r.name));
    const summary = document.createElement('summary');
    summary.textContent = `${stem} (${members.length === 1 ? '1 run' : `${members.length} seeds`})`;
    summary.title = members[0].description;
    details.append(summary, ...members.map((r) => runLine(r)));
    return details;
  });
}

/** The list: the user's runs first, then those shipped with metalearn, grouped by config. */
export function renderRunList(): void {
  const box = $('runs');
  box.replaceChildren();
  const all = [...state.runs.values()];
  const mine = all.filter((r) => !isShippedKey(r.name));
  const shipped = all.filter((r) => isShippedKey(r.name));
  const heading = (text: string) => Object.assign(document.createElement('h3'), { textContent: text });
  box.append(heading(`yours, in ${$('folder').textContent}/`));
  if (mine.length === 0) box.append(Object.assign(document.createElement('small'), { textContent: 'none yet: train one (npx metalearn train --algo reptile), or pass --checkpoints' }));
  box.append(...mine.map((r) => runLine(r)));
  if (shipped.length) box.append(heading('shipped with metalearn (the runs of docs/results)'), ...shippedGroups(shipped));
}

export async function choose(name: string, on: boolean): Promise<void> {
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
      const json = await fetchModelJson(name);
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
  pollLater();
}

export function pollLater(): void {
  setTimeout(() => void poll(), POLL_MS);
}

/** A new page's runs: a maml run (the furthest trained first) with a reptile and a transfer run of its task family, those of the most settings alike; the user's own where they make such a trio, else the shipped ones. */
export function firstComparison(): string[] {
  const all = [...state.runs.values()];
  return trio(all.filter((r) => !isShippedKey(r.name))) ?? trio(all) ?? [];
}

/** A maml, a reptile and a transfer run of one task family among these, or null. */
function trio(candidates: Listed[]): string[] | null {
  // runs saved before --frequency existed have none in their config: the fixed frequency 1
  const family = (c?: Partial<TrainConfig>) => JSON.stringify([c?.amplitude, c?.phase, c?.phases, c?.frequency ?? [1, 1], c?.xRange]);
  const alike = (a: Partial<TrainConfig>, b: Partial<TrainConfig>) => (['support', 'hidden', 'activation', 'iterations', 'metaBatch'] as const).filter((k) => JSON.stringify(a[k]) === JSON.stringify(b[k])).length;
  const runs = candidates.filter((r) => !r.error && r.config);
  const mamls = runs.filter((r) => r.config!.algo === 'maml').sort((a, b) => (b.iteration ?? 0) - (a.iteration ?? 0));
  for (const maml of mamls) {
    const others = (['reptile', 'transfer'] as const).map((algo) =>
      runs.filter((r) => r.config!.algo === algo && family(r.config) === family(maml.config)).sort((a, b) => alike(b.config!, maml.config!) - alike(a.config!, maml.config!))[0],
    );
    if (others.every(Boolean)) return [maml.name, ...others.map((r) => r!.name)];
  }
  return null;
}
