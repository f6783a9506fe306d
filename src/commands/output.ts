// Terminal output shared by the commands: coloured messages on stderr, a
// progress bar on a TTY, JSON lines on stdout with --json.
import chalk from 'chalk';
import cliProgress from 'cli-progress';

/** Runs a command's action and turns its outcome into an exit code (cli.ts). */
export type Runner = (action: () => Promise<number>) => Promise<void>;

export interface OutputMode {
  quiet: boolean;
  json: boolean;
}

export class Output {
  constructor(readonly mode: OutputMode) {}

  /** A human message on stderr (stdout stays clean for --json and tables). */
  info(text: string): void {
    if (!this.mode.quiet && !this.mode.json) process.stderr.write(`${text}\n`);
  }

  /** A failure on stderr, whatever the mode: --quiet and --json silence messages, never errors. */
  error(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  /** A machine-readable event on stdout with --json. */
  event(obj: object): void {
    if (this.mode.json) process.stdout.write(`${JSON.stringify(obj)}\n`);
  }

  /** A progress bar when stderr is a terminal and output is for a person; else null. */
  progressBar(total: number): cliProgress.SingleBar | null {
    if (this.mode.quiet || this.mode.json || !process.stderr.isTTY || total === 0) return null;
    const bar = new cliProgress.SingleBar(
      {
        format: `${chalk.cyan('{bar}')} {value}/{total} it | meta-loss {loss} | val {val} | {rate} it/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 200,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    return bar;
  }
}

export const fmt = (v: number | null | undefined, digits = 4): string => (v === null || v === undefined ? '-' : Number.isFinite(v) ? v.toFixed(digits) : String(v));
export const heading = (text: string): string => chalk.bold(text);
export const good = (text: string): string => chalk.green(text);
export const dim = (text: string): string => chalk.dim(text);
