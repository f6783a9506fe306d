// Reading a config file (Node only: config.ts itself reads no file, so that the page's bundle can
// check a run's saved config with it).
import { readFileSync } from 'node:fs';
import { parseOptions, type TrainConfig } from './config.js';
import { UsageError } from '../base/errors.js';
import { describeFsError } from '../base/files.js';

/** Reads and checks a config file: JSON object, known keys, right types. */
export function readConfigFile(path: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`config ${path}: cannot read it: ${describeFsError(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config ${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`config ${path}: expected a JSON object of options`);
  return parseOptions(json as Record<string, unknown>, `config ${path}`);
}
