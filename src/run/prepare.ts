// A run directory made ready for one writer: checked (it holds no other run, unless replaced; it
// can be written), created, locked, and cleaned of what a killed writer, or a replaced run, left.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cleanRunDir } from './checkpoint.js';
import { isRunFile, MODEL_FILE } from './format.js';
import { UsageError } from '../base/errors.js';
import { describeFsError, removeTempFiles } from '../base/files.js';
import { lockRunDir, type RunLock } from './lock.js';

/** Refuses a run directory that holds another run (unless forced), or that cannot be created or written; touches nothing. */
export function checkRunDir(dir: string, force: boolean): void {
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

/** Makes the run directory ready for this process alone: created or checked, locked, cleaned of what a killed writer (or, with force, an earlier run) left. */
export function prepareRunDir(dir: string, o: { resume: boolean; force: boolean }): RunLock {
  if (o.resume) checkResumable(dir);
  else {
    checkRunDir(dir, o.force);
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
    if (o.resume) cleanRunDir(dir);
    else for (const name of readdirSync(dir)) if (isRunFile(name)) rmSync(join(dir, name), { force: true });
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}
