// A run directory made ready for one writer: checked (it holds no other run, unless replaced; it
// can be written; it is not one of the runs shipped with metalearn), created, locked, and cleaned of
// what a killed writer, or a replaced run, left; or filled with the checkpoint of the run it continues.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../base/errors.js';
import { describeFsError, removeTempFiles } from '../base/files.js';
import { cleanRunDir, copyCheckpoint } from './checkpoint.js';
import { isRunFile, MODEL_FILE, RUNS_FOLDER } from './format.js';
import { lockRunDir, type RunLock } from './lock.js';

/**
 * The runs shipped with metalearn: the runs the tables of docs/results were computed from, in a folder of
 * their own beside the user's (this file runs as dist/src/run/prepare.js). No command writes in it.
 */
export const SHIPPED_RUNS = fileURLToPath(new URL(`../../../${RUNS_FOLDER}/shipped`, import.meta.url));

/** The nearest folder at or above path that exists. */
function nearestExisting(path: string): string {
  let existing = resolve(path);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  return existing;
}

/** Whether a path is the folder of the shipped runs or inside it (followed through symlinks as far as it exists). */
export function isShipped(path: string): boolean {
  if (!existsSync(SHIPPED_RUNS)) return false;
  const existing = nearestExisting(path);
  const real = join(realpathSync(existing), relative(existing, resolve(path)));
  const shipped = realpathSync(SHIPPED_RUNS);
  return real === shipped || real.startsWith(shipped + sep);
}

/** Refuses to write in the shipped runs' folder, saying what to do instead: a shipped run is continued into a run of the user's own. */
export function refuseShipped(dir: string, action: 'write' | 'resume' | 'upgrade'): void {
  if (!isShipped(dir)) return;
  const what = action === 'write' ? `${dir} is in the folder of the runs shipped with metalearn` : `${dir} is a run shipped with metalearn`;
  const how = action === 'resume' ? `continue it into a run of your own: npx metalearn train --resume ${dir} --name <new name>` : action === 'upgrade' ? 'it is in the current format already' : `write your runs elsewhere (the default --out-dir is ${RUNS_FOLDER}/)`;
  throw new UsageError(`${what} (the tables of docs/results are computed from them), which no command changes: ${how}`);
}

/** Refuses a run directory that holds another run (unless forced), or that cannot be created or written; touches nothing. */
export function checkRunDir(dir: string, force: boolean): void {
  refuseShipped(dir, 'write');
  let existing = dir; // the run directory, or the nearest folder above it that exists
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) throw new UsageError(`cannot create run directory ${dir}: ${existing} is a file`);
  try {
    accessSync(existing, constants.W_OK);
  } catch (e) {
    throw new UsageError(`cannot write to run directory ${dir}: ${describeFsError(e)}`);
  }
  if (existing !== dir || force || readdirSync(dir).length === 0) return;
  throw new UsageError(
    existsSync(join(dir, MODEL_FILE))
      ? `${dir} already holds a run: pass --resume ${dir} to continue it, --force to replace it, or --name for another directory`
      : `${dir} is not empty: pass --force to write the run there (only metalearn's files are replaced) or --name for another directory`,
  );
}

/** Refuses to resume a directory that holds no committed checkpoint; touches nothing. */
export function checkResumable(dir: string): void {
  if (!existsSync(join(dir, MODEL_FILE))) throw new UsageError(`cannot resume ${dir}: no model.json (not a metalearn run directory, or stopped before its first checkpoint: --force starts it again)`);
}

/** How a run directory is to be prepared: for a new run (replacing one with force), for a resume of its run, or for the continuation of another directory's run. */
export interface Preparation {
  resume: boolean;
  force: boolean;
  /** With resume: the run directory whose checkpoint the run continues from, copied in first (its own directory is left as it is). */
  from?: string;
}

/** Makes the run directory ready for this process alone: created or checked, locked, cleaned of what a killed writer (or, with force, an earlier run) left; for a continuation, the checkpoint it continues copied in. */
export function prepareRunDir(dir: string, preparation: Preparation): RunLock {
  const { resume, force, from } = preparation;
  const continuing = resume && from === undefined;
  if (continuing) {
    refuseShipped(dir, 'resume');
    checkResumable(dir);
  } else {
    if (from !== undefined) checkResumable(from);
    checkRunDir(dir, force);
    try {
      // the last level without `recursive`, so that a read-only parent reports EROFS rather than ENOENT
      mkdirSync(dirname(dir), { recursive: true });
      if (!existsSync(dir)) mkdirSync(dir);
      accessSync(dir, constants.W_OK);
    } catch (e) {
      throw new UsageError(`cannot write to run directory ${dir}: ${describeFsError(e)}`);
    }
  }
  const lock = lockRunDir(dir);
  try {
    removeTempFiles(dir);
    if (continuing) cleanRunDir(dir);
    else for (const name of readdirSync(dir)) if (isRunFile(name)) rmSync(join(dir, name), { force: true });
    if (from !== undefined) copyCheckpoint(from, dir);
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}
