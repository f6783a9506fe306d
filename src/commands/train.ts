// `metalearn train`: parse and check the options, start the backend, run the loop with a progress display.
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { trains } from '../algorithms/index.js';
import { helpFor, parseOptions, resolveConfig, TRAIN_OPTIONS, type OptionKey, type TrainConfig } from '../config/config.js';
import { readConfigFile } from '../config/file.js';
import { UsageError } from '../base/errors.js';
import { flagValues } from '../options/option.js';
import { runDirOf } from '../run/checkpoint.js';
import { RUNS_FOLDER } from '../run/format.js';
import { checkRunDir, refuseShipped } from '../run/prepare.js';
import { readResumable, train, type Progress, type Resumable, type TrainOptions, type TrainResult } from '../train/loop.js';
import { dim, fmt, good, heading, Output, type Runner } from './output.js';
import type { Runtime } from '../kernels/backend.js';
import { describeRuntime, runtimeChoice, runtimeOptions, startRuntime } from './runtime.js';
import { exitCodeOf, onStopSignals, resumeCommand, type StopSignal } from './signals.js';
import { parseSeeds, sweep } from './train-seeds.js';

export function registerTrain(program: Command, run: Runner): void {
  const cmd = program.command('train').description(`meta-train an MLP on sine-wave tasks; writes ${RUNS_FOLDER}/<name>/ (model, state, loss curve)`);
  cmd.option('--config <file>', 'JSON config file (flags override its values)');
  for (const [key, spec] of Object.entries(TRAIN_OPTIONS)) {
    cmd.option(spec.flag, helpFor(key as OptionKey));
    if (spec.kind === 'bool') cmd.option(`--no-${spec.flag.slice(2)}`, `turn off ${spec.flag}`);
  }
  cmd
    .option('--name <dir>', `run directory under ${RUNS_FOLDER}/ (default: <config-or-algo>-<seed>)`)
    .option('--out-dir <dir>', 'parent folder of run directories', RUNS_FOLDER)
    .option('--resume <run-dir>', 'continue the run saved in this directory (or named by its model.json; with --name: in a new directory, this one left as it is)', runDirOf)
    .option('--force', 'replace an existing run directory')
    .option('--seeds <list>', 'train the same config under each of these seeds (e.g. 0,1,2), in <name>-<seed>, as many at a time as --jobs; one progress display')
    .option('--jobs <n>', `with --seeds: runs at a time (default: the number of cores, ${availableParallelism()} here)`);
  runtimeOptions(cmd)
    .option('--quiet', 'print only errors')
    .option('--json', 'print JSON lines on stdout (progress events and a summary) instead of text')
    .action((flags: Record<string, unknown>) => run(() => trainCommand(flags)));
}

/** What a train command line asks for: a new run with its config, or a resume with the changes asked for, in runDir. */
type Request = Pick<TrainOptions, 'runDir' | 'config' | 'resume' | 'resumeFrom' | 'force'>;

/** The run a command line asks for, checked before the backend starts and anything is printed. */
function requestOf(flags: Record<string, unknown>, fromFile: Partial<TrainConfig>, fromFlags: Record<string, unknown>): Request {
  const resumeDir = flags.resume as string | undefined;
  const force = Boolean(flags.force);
  if (resumeDir) {
    const resume = { ...fromFile, ...parseOptions(fromFlags, 'options') };
    if (flags.name === undefined) {
      if (force) throw new UsageError('--resume continues its own directory: drop --force (or give --name to continue it in another)');
      refuseShipped(resumeDir, 'resume');
      return { runDir: resumeDir, resume };
    }
    // continued in a new directory, the run resumed left as it is
    const runDir = join(String(flags.outDir), runName(flags.name));
    checkRunDir(runDir, force);
    return { runDir, resume, resumeFrom: resumeDir, force };
  }
  const config = resolveConfig(fromFile, fromFlags, flags.config ? `options (with config ${flags.config})` : 'options');
  const runDir = join(String(flags.outDir), flags.name === undefined ? `${defaultStem(flags, config)}-${config.seed}` : runName(flags.name));
  checkRunDir(runDir, force);
  return { runDir, config, force };
}

async function trainCommand(flags: Record<string, unknown>): Promise<number> {
  const out = new Output({ quiet: Boolean(flags.quiet), json: Boolean(flags.json) });
  const requestedRuntime = runtimeChoice(flags);
  const fromFlags = flagValues(TRAIN_OPTIONS, flags);
  const fromFile = flags.config ? readConfigFile(String(flags.config)) : {};
  if (flags.seeds !== undefined) return seedsCommand(flags, fromFile, fromFlags, out);
  const request = requestOf(flags, fromFile, fromFlags);
  if (request.resume) {
    const resumable = readResumable(request.resumeFrom ?? request.runDir, request.resume);
    if (resumable.left === 0) return nothingToResume(request, resumable, out);
  }
  const running = await startRuntime(requestedRuntime);
  if (running.note) out.info(dim(`note: ${running.note}; using TF.js's built-in kernels`));
  const display = new TrainDisplay(out, running, request);
  let stopSignal: StopSignal | null = null;
  const release = onStopSignals((signal) => {
    if (stopSignal) process.exit(exitCodeOf(signal)); // a second Ctrl-C: leave now
    stopSignal = signal;
    display.stopping(signal);
  });
  try {
    const result = await train({ ...request, shouldStop: () => stopSignal !== null, onStart: (s) => display.start(s), onProgress: (p) => display.progress(p) });
    display.end(result, flags.backend === 'auto' ? undefined : running.backend);
    return result.stopped ? exitCodeOf(stopSignal ?? 'SIGINT') : 0;
  } finally {
    display.close();
    release();
  }
}

/** The --json event that ends a run's output: where it stopped, and its last validation. */
const endEvent = (r: TrainResult) => ({ event: 'end', runDir: r.runDir, iteration: r.iteration, stopped: r.stopped, validation: r.curve.validation.at(-1) ?? null });

/** A resume with no iteration left to train: says so and how to train further, as the end of the run (--json: its end event), and touches nothing. */
function nothingToResume(request: Request, { run, config }: Resumable, out: Output): number {
  const dir = request.resumeFrom ?? request.runDir;
  const resume = request.resumeFrom ? `--resume ${dir} --name ${basename(request.runDir)}` : `--resume ${dir}`;
  const done = run.info.iteration;
  if (!trains(config.algo)) out.info(`${dir} is a ${config.algo} run, which does not train: there is nothing to resume`);
  else if (config.metaLrFinal !== null) out.info(`${dir} is already trained to its ${done} iterations, over which its outer step size is annealed (--meta-lr-final): to train longer, start a new run with more --iterations`);
  else out.info(`${dir} is already trained to its ${done} iterations: to train further, give more, e.g. npx metalearn train ${resume} --iterations ${2 * done || 1}`);
  out.event(endEvent({ runDir: dir, iteration: done, stopped: false, curve: run.curve }));
  return 0;
}

/** What train prints as it goes: a header, a progress bar on a terminal (JSON events with --json), and how it ended. */
class TrainDisplay {
  private bar: ReturnType<Output['progressBar']> = null;
  private started = Date.now();
  private startIteration = 0;
  private lastVal = '-';
  private config: TrainConfig | null = null;

  constructor(
    private readonly out: Output,
    private readonly running: Runtime,
    private readonly request: Request,
  ) {}

  start(s: Parameters<NonNullable<TrainOptions['onStart']>>[0]): void {
    const { out, request } = this;
    const c = (this.config = s.config);
    this.startIteration = s.iteration;
    const resuming = request.resumeFrom ? ` (continuing ${request.resumeFrom} from iteration ${s.iteration})` : request.resume ? ` (resuming at iteration ${s.iteration})` : '';
    out.info(`${heading('metalearn train')} ${c.algo} on ${describeRuntime(this.running)} -> ${request.runDir}${resuming}`);
    out.info(dim(`  ${s.total} iterations, meta-batch ${c.metaBatch}, ${c.innerSteps} inner step(s) at ${c.innerLr}, ${c.metaOptimizer} ${c.metaLr}, MLP 1-${c.hidden.join('-')}-1 ${c.activation}, K=${c.support}, loss ${c.loss}, seed ${c.seed}`));
    const { backend, kernels } = this.running;
    if (s.trainedOn !== null && s.trainedOn !== backend) out.info(`note: the run was trained on ${s.trainedOn} and continues on ${backend}: it will not match an uninterrupted run bit for bit`);
    out.event({ event: 'start', runDir: request.runDir, backend, kernels, iteration: s.iteration, config: c });
    this.bar = out.progressBar(s.total);
    this.bar?.start(s.total, s.iteration, { loss: '-', val: this.lastVal, rate: '-' });
  }

  progress(p: Progress): void {
    const rate = (p.iteration - this.startIteration) / Math.max(1e-3, (Date.now() - this.started) / 1000);
    if (p.validation) this.lastVal = fmt(p.validation.after);
    this.bar?.update(p.iteration, { loss: fmt(p.metaLoss), val: this.lastVal, rate: rate.toFixed(0) });
    if (p.validation) this.out.event({ event: 'validation', ...p.validation });
    if (p.logged) this.out.event({ event: 'progress', iteration: p.iteration, metaLoss: p.metaLoss });
  }

  stopping(signal: StopSignal): void {
    this.bar?.stop(); // the bar would overwrite the message
    this.out.info(`${signal}: finishing the current iteration and writing a checkpoint (again to quit at once)`);
  }

  /** How the run ended; backend: the one to resume on, when one was asked for. */
  end(result: TrainResult, backend: string | undefined): void {
    const { out } = this;
    this.bar?.stop();
    const val = result.curve.validation.at(-1);
    out.event(endEvent(result));
    if (result.stopped) {
      out.info(`checkpoint written at iteration ${result.iteration}: ${result.runDir}`);
      out.info(`resume with: ${resumeCommand(result.runDir, backend)}`);
      return;
    }
    const c = this.config!;
    out.info(
      `${good('done')}: ${result.iteration - this.startIteration} iterations in ${((Date.now() - this.started) / 1000).toFixed(1)} s (${result.iteration} in all); ` +
        `validation MSE ${fmt(val?.before)} before, ${fmt(val?.after)} after ${c.valUpdates} step(s) (${c.valTasks} tasks, K=${c.valSamples})`,
    );
    out.info(`checkpoint: ${result.runDir}  (evaluate: npx metalearn eval --checkpoint ${result.runDir})`);
  }

  close(): void {
    this.bar?.stop();
  }
}

/** train --seeds: checks what every run would check, then trains them in processes of their own (sweep.ts). */
function seedsCommand(flags: Record<string, unknown>, fromFile: Partial<TrainConfig>, fromFlags: Record<string, unknown>, out: Output): Promise<number> {
  if (flags.resume) throw new UsageError('--seeds starts new runs: resume each with --resume <run-dir>');
  if (flags.seed !== undefined) throw new UsageError('--seeds gives each run its seed: drop --seed');
  const seeds = parseSeeds(String(flags.seeds));
  const jobs = flags.jobs === undefined ? undefined : Number(flags.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) throw new UsageError(`--jobs ${flags.jobs}: expected a whole number of at least 1`);
  runtimeChoice(flags);
  const config = resolveConfig(fromFile, fromFlags, flags.config ? `options (with config ${flags.config})` : 'options');
  const stem = flags.name !== undefined ? runName(flags.name) : defaultStem(flags, config);
  const argv = process.argv.slice(process.argv.indexOf('train') + 1);
  return sweep({ argv, seeds, jobs, stem, outDir: String(flags.outDir), force: Boolean(flags.force), out });
}

/** A run's name before its seed: the config file's name, else the algorithm's. */
function defaultStem(flags: Record<string, unknown>, config: TrainConfig): string {
  return flags.config ? basename(String(flags.config)).replace(/\.json$/i, '') : config.algo;
}

/** --name: one directory under --out-dir, never a path that leaves it or nests in it. */
function runName(name: unknown): string {
  const text = String(name);
  if (text === '' || text === '.' || text === '..' || /[/\\]/.test(text)) throw new UsageError(`--name ${JSON.stringify(text)}: expected the name of one directory under --out-dir (no '/', '\\', '.' or '..'); use --out-dir for another folder`);
  return text;
}
