// One writer per run directory: a lock file holding the owner's pid, host and a random token,
// created atomically (a complete temporary file hard-linked into place, which fails if one is
// there) and touched every few seconds while the owner lives. A lock is stale when its process is
// gone, or is this process (a restarted container reuses pids), or nobody touched it for longer
// than a living owner ever leaves it; a stale lock is taken over by moving it aside and checking
// that what was moved is the stale one. Readers (eval, plot-data) never take it.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RunError, UsageError } from '../base/errors.js';
import { describeFsError } from '../base/files.js';

export const LOCK_FILE = 'lock';
/** How often a holder touches its lock (from the event loop, which the training loop yields to every 20 ms). */
const TOUCH_MS = 2000;
/** How long a lock may go untouched before it counts as stale: from another host (its pid cannot be checked), from this one (its pid is alive but is another process). */
const STALE_OTHER_HOST_MS = 120_000;
const STALE_SAME_HOST_MS = 600_000;

interface Owner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

export interface RunLock {
  /** Throws unless this process still holds the lock (checked before each commit). */
  check(): void;
  release(): void;
}

function readOwner(path: string): Owner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Owner;
    return typeof owner.pid === 'number' && typeof owner.token === 'string' ? owner : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { pid: -1, host: '?', token: '', since: '' }; // unreadable: treated as stale below
  }
}

function alive(owner: Owner, path: string, me: Owner): boolean {
  if (owner.pid < 0) return false;
  let untouched: number;
  try {
    untouched = Date.now() - statSync(path).mtimeMs;
  } catch {
    return false;
  }
  if (owner.host !== me.host) return untouched < STALE_OTHER_HOST_MS;
  if (owner.pid === me.pid || untouched >= STALE_SAME_HOST_MS) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/** Moves a stale lock aside, and puts back whatever was moved if it was not the stale one (another process had just taken it over). */
function removeStale(dir: string, path: string, stale: Owner): void {
  const aside = join(dir, `.${LOCK_FILE}.stale.${process.pid}.tmp`);
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const moved = readOwner(aside);
  if (moved && moved.token !== stale.token) {
    try {
      linkSync(aside, path); // another process had just taken it over: its lock goes back
    } catch {
      // a third one took it meanwhile; the second finds out at its next check()
    }
  }
  rmSync(aside, { force: true });
}

/** Links the complete temporary lock tmp into place at path, taking over a stale lock; throws a UsageError naming a living holder. */
function link(dir: string, path: string, tmp: string, me: Owner): void {
  for (let attempt = 0; ; attempt++) {
    try {
      linkSync(tmp, path);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (attempt > 10 || (code !== 'EEXIST' && code !== 'ENOENT')) throw e;
      if (code === 'ENOENT') {
        writeFileSync(tmp, JSON.stringify(me)); // the holder cleaned its directory of temporaries, ours included
        continue;
      }
    }
    const owner = readOwner(path);
    if (owner === null) continue; // released meanwhile
    if (alive(owner, path, me)) {
      throw new UsageError(`${dir} is being trained by process ${owner.pid} on ${owner.host} (since ${owner.since}): wait for it to finish, or stop it first (if no such process trains it, delete ${path})`);
    }
    removeStale(dir, path, owner);
  }
}

/** Takes the lock of a run directory, or throws a UsageError naming the process that holds it. */
export function lockRunDir(dir: string): RunLock {
  const path = join(dir, LOCK_FILE);
  const me: Owner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
  const tmp = join(dir, `.${LOCK_FILE}.${process.pid}.tmp`); // the pattern of base/files.ts's temporaries: a later writer removes it if this one is killed
  try {
    writeFileSync(tmp, JSON.stringify(me));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new RunError(`cannot take the lock of ${dir}: ${describeFsError(e)}`);
  }
  try {
    link(dir, path, tmp, me);
  } finally {
    rmSync(tmp, { force: true });
  }
  const touch = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // the directory may be gone: check() says so before the next commit
    }
  }, TOUCH_MS);
  touch.unref();
  return {
    check() {
      const owner = readOwner(path);
      // a directory deleted under the run (its lock with it) is a failed write, as any file operation in it would say
      if (!existsSync(dir)) throw Object.assign(new Error(`${dir}: no such directory`), { code: 'ENOENT' });
      if (owner === null) throw new RunError(`${dir}: the run's lock (${LOCK_FILE}) has been deleted or damaged; stopping without writing`);
      if (owner.token !== me.token) throw new RunError(`${dir}: this process no longer holds the run's lock (process ${owner.pid} on ${owner.host} does); stopping without writing`);
    },
    release() {
      clearInterval(touch);
      if (readOwner(path)?.token === me.token) rmSync(path, { force: true });
    },
  };
}
