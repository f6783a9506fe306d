// Reading run directories over HTTP: the server's listing, and a run's files, read and checked by
// run/format.ts's parseRun as the CLI reads them from disk.
import type { TrainConfig } from '../config/config.js';
import { filesNamedBy, MODEL_FILE, modelOf, parseRun, RunFileError, type LayersModelJson, type LoadedModel, type RunFiles } from '../run/format.js';

/** A run's key on the page: the name of a run of the user's folder, or `shipped/<name>` for a run shipped with metalearn. */
const SHIPPED_PREFIX = 'shipped/';
/** Whether a key names a run shipped with metalearn. */
export const isShippedKey = (key: string): boolean => key.startsWith(SHIPPED_PREFIX);
/** The key of a shipped run's name. */
export const shippedKey = (name: string): string => SHIPPED_PREFIX + name;

/** Where the server serves a run's files: the user's folder under /checkpoints/, the shipped runs under /shipped/. */
function runUrl(key: string, file: string): string {
  const [mount, name] = isShippedKey(key) ? ['shipped', key.slice(SHIPPED_PREFIX.length)] : ['checkpoints', key];
  return `/${mount}/${encodeURIComponent(name)}/${encodeURIComponent(file)}`;
}

/** A run's directory as messages name it (a shipped run's key is its path under checkpoints/). */
const runDir = (key: string): string => `checkpoints/${key}`;

export interface LoadedRun {
  name: string;
  model: LoadedModel;
  iteration: number | null;
  /** describeRun of the very model.json it was loaded from. */
  summary: string;
}

export interface Listed {
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

/** A run's model.json, fetched and parsed. */
export async function fetchModelJson(name: string): Promise<LayersModelJson> {
  return JSON.parse(new TextDecoder().decode(await fetchBytes(runUrl(name, MODEL_FILE)))) as LayersModelJson;
}

/** A run directory's files as parseRun reads them: model.json and the files it names, fetched first (a file that cannot be fetched fails when parseRun reads it). */
async function fetchRunFiles(name: string): Promise<RunFiles> {
  const fetched = new Map<string, Uint8Array | RunFileError>();
  const get = async (file: string) => fetched.set(file, await fetchBytes(runUrl(name, file)).catch((e: RunFileError) => e));
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
  return { dir: runDir(name), path: (file) => `${runDir(name)}/${file}`, size: (file) => bytes(file).length, read: bytes };
}

/** A run read and checked by parseRun; a training run may replace its files between the reads, so a missing file means: read it again. */
export async function fetchRun(name: string): Promise<LoadedRun> {
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

/** The server's listing: the user's folder, its run directories and those shipped with metalearn (each with the server's reason where it cannot be read). */
interface Listing {
  folder: string;
  runs: { name: string; error?: string }[];
  shipped: { name: string; error?: string }[];
}

export async function fetchListing(): Promise<Listing> {
  return (await (await fetch('/checkpoints/', { cache: 'no-store' })).json()) as Listing;
}

/** A listed run, as its model.json (read at listing time) describes it. */
export async function listed(name: string, error?: string): Promise<Listed> {
  let json: LayersModelJson = {};
  let problem = error;
  if (!problem) {
    try {
      json = await fetchModelJson(name);
    } catch (e) {
      problem = `model.json: ${(e as Error).message}`;
    }
  }
  const description = String(json.userDefinedMetadata?.metalearn?.config?.description ?? '');
  const config = json.userDefinedMetadata?.metalearn?.config as Partial<TrainConfig> | undefined;
  const iteration = json.userDefinedMetadata?.metalearn?.iteration;
  return { name, summary: problem ? '' : describeRun(json), description, ...(config ? { config } : {}), ...(typeof iteration === 'number' ? { iteration } : {}), ...(problem ? { error: problem } : {}) };
}
