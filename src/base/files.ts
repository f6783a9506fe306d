// File writes that never leave a half-written file: write a temporary file
// beside the target, flush it to disk, rename it over the target, flush the folder.
import { accessSync, closeSync, constants, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Temporary files of writeFileAtomic: `.<name>.<pid>.tmp`. A process killed mid-write leaves one behind. */
const TEMP_FILE = /^\..+\.\d+\.tmp$/;

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(dirname(path));
}

/** Why a file could not be written at path (its folder is missing or read-only, it is a folder), or null. Checked before long work. */
export function whyNotWritable(path: string): string | null {
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) return 'is a directory';
    accessSync(dirname(path), constants.W_OK);
    return null;
  } catch (e) {
    return `cannot write in ${dirname(path)}: ${describeFsError(e)}`;
  }
}

/** Removes the temporaries that killed writers left in dir (call only when no other process writes there). */
export function removeTempFiles(dir: string): void {
  for (const name of readdirSync(dir)) if (TEMP_FILE.test(name)) rmSync(join(dir, name), { force: true });
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent is not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
};

/** A file-system error in words for a one-line message, e.g. "no space left on device (ENOSPC)". */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && ERRNO_WORDS[code]) return `${ERRNO_WORDS[code]} (${code})`;
  return code ?? (e instanceof Error ? e.message : String(e));
}
