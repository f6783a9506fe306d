// The list of runs: listed from the server, chosen by their checkboxes (a new page chooses a first
// comparison), and polled, so that a run still training is followed.
import type { TrainConfig } from '../config/config.js';
import { disposeModel } from '../run/format.js';
import { $ } from './dom.js';
import { fetchListing, fetchModelJson, fetchRun, listed } from './runs.js';
import { compute, state } from './state.js';

/** How often a chosen run's model.json is read again, to follow a run that is still training. */
const POLL_MS = 3000;

export async function listRuns(): Promise<void> {
  const listing = await fetchListing();
  $('folder').textContent = listing.folder;
  for (const { name, error } of listing.runs) state.runs.set(name, await listed(name, error));
  renderRunList();
}

export function renderRunList(): void {
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

/** A new page's runs: a maml run (the furthest trained first) with a reptile and a transfer run of its task family, those of the most settings alike. */
export function firstComparison(): string[] {
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
