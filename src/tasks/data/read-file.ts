// Reads a user's data file (CSV, TSV, JSON Lines or a JSON array of records) into tasks, streaming it through
// records.ts's TaskTable so that memory follows the numbers kept, not the file's size; and fingerprints its bytes.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline, Transform, type Readable } from 'node:stream';
import Papa from 'papaparse';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { UsageError } from '../../base/errors.js';
import { TaskTable, type DataColumns, type DataTasks, type InvalidPolicy } from './records.js';

export type DataFormat = 'csv' | 'tsv' | 'json' | 'jsonl';

export interface ReadDataOptions {
  /** rows with an invalid input or output: refused (the default) or dropped and counted */
  invalid?: InvalidPolicy;
  /** the format, when the file's extension does not say it */
  format?: DataFormat;
}

/** Which file the tasks came from: enough to tell later whether it changed. */
export interface DataFileInfo {
  path: string;
  bytes: number;
  sha256: string;
  format: DataFormat;
}

const EXTENSIONS: Record<string, DataFormat> = { '.csv': 'csv', '.tsv': 'tsv', '.json': 'json', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };
const FAILURES: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'it is a directory' };

/** The tasks of the data file at `path`, read by `columns`, and the file's size and SHA-256. */
export async function readDataFile(path: string, columns: DataColumns, options: ReadDataOptions = {}): Promise<DataTasks & { file: DataFileInfo }> {
  const format = options.format ?? formatOf(path);
  const table = new TaskTable({ columns, invalid: options.invalid ?? 'refuse', source: path, unit: format === 'json' ? 'record' : 'line' });
  const handle = await openForReading(path);
  const fingerprint = createHash('sha256');
  let bytes = 0;
  // The bytes are hashed as they pass, then decoded as UTF-8 (a character split between two chunks stays whole).
  const hashed = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      fingerprint.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const source = handle.createReadStream();
  source.on('error', (error) => hashed.destroy(error)); // a read error reaches the parser through `hashed`
  source.pipe(hashed);
  try {
    if (format === 'json') await readJsonArray(hashed, table, path);
    else {
      hashed.setEncoding('utf8');
      await (format === 'jsonl' ? readJsonLines(hashed, table, path) : readDelimited(hashed, table, format === 'tsv' ? '\t' : ','));
    }
  } catch (error) {
    throw error instanceof UsageError ? error : new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  } finally {
    source.destroy();
  }
  return { ...table.finish(), file: { path, bytes, sha256: fingerprint.digest('hex'), format } };
}

function formatOf(path: string): DataFormat {
  const extension = extname(path).toLowerCase();
  const format = EXTENSIONS[extension];
  if (format === undefined) {
    throw new UsageError(`cannot tell the format of ${path} from its extension${extension ? ` '${extension}'` : ''}: name it .csv, .tsv, .json, .jsonl or .ndjson`);
  }
  return format;
}

/** The file opened for reading, or a one-line UsageError saying why it cannot be. */
async function openForReading(path: string): Promise<FileHandle> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    if ((await handle.stat()).isDirectory()) throw Object.assign(new Error('a directory'), { code: 'EISDIR' });
    return handle;
  } catch (error) {
    await handle?.close();
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new UsageError(`cannot read ${path}: ${FAILURES[code] ?? (error as Error).message}`);
  }
}

/**
 * CSV or TSV with a header row, parsed by papaparse one row at a time. A row's line counts the newlines inside its
 * quoted fields, so that a message names the line an editor shows; blank lines are skipped.
 */
function readDelimited(text: Readable, table: TaskTable, delimiter: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let header: string[] | undefined;
    let line = 1;
    // abort() calls complete(), and no step after it: rejecting first makes the failure what the promise reports.
    const fail = (error: Error, parser: Papa.Parser) => {
      reject(error);
      parser.abort();
    };
    const guard = (step: () => void, parser: Papa.Parser) => {
      try {
        step();
      } catch (error) {
        fail(error as Error, parser);
      }
    };
    Papa.parse<string[]>(text, {
      delimiter,
      step(results, parser) {
        const fields = results.data;
        const at = line;
        line += 1 + fields.reduce((n, field) => n + (field.match(/\n/g)?.length ?? 0), 0);
        if (results.errors.length > 0) return fail(new UsageError(`line ${at}: ${results.errors[0].message.toLowerCase()}`), parser);
        if (fields.length === 1 && fields[0].trim() === '') return;
        if (header === undefined) {
          header = fields.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name).trim());
          return guard(() => table.expectColumns(header!), parser);
        }
        if (fields.length !== header.length) return fail(new UsageError(`line ${at}: ${fields.length} fields where the header has ${header.length}`), parser);
        guard(() => table.add(Object.fromEntries(header!.map((name, i) => [name, fields[i]])), at), parser);
      },
      complete: () => resolve(),
      error: (error: Error) => reject(error),
    });
  });
}

/** JSON Lines: one JSON object per line; blank lines are skipped. */
async function readJsonLines(text: Readable, table: TaskTable, path: string): Promise<void> {
  let line = 0;
  for await (const content of createInterface({ input: text, crlfDelay: Infinity })) {
    line++;
    const trimmed = (line === 1 ? content.replace(/^\uFEFF/, '') : content).trim();
    if (trimmed === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`line ${line} of ${path} is not JSON: ${(error as Error).message}`);
    }
    table.add(asRecord(record, `line ${line} of ${path}`), line);
  }
}

/** A JSON array of records, streamed element by element by stream-json: the file is never one string. */
async function readJsonArray(bytes: Readable, table: TaskTable, path: string): Promise<void> {
  const elements = pipeline(bytes, streamArray.withParserAsStream(), () => {});
  let count = 0;
  try {
    for await (const { value } of elements as AsyncIterable<{ key: number; value: unknown }>) {
      count++;
      table.add(asRecord(value, `record ${count} of ${path}`), count);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // stream-json's errors carry no position: the message says what it expected
    throw new UsageError(`${path} is not a JSON array of records: ${(error as Error).message.replace(/^Parser cannot parse input: /, '')}`);
  }
}

function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${where} is not a JSON object of cells by column name (got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`);
  }
  return value as Record<string, unknown>;
}
