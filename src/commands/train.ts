// `metalearn train`: parse and check the options, start the backend, run the loop with a progress display.
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { helpFor, parseOptions, resolveConfig, TRAIN_OPTIONS, type OptionKey, type TrainConfig } from '../config/config.js';
import { readConfigFile } from '../config/file.js';
import { UsageError } from '../base/errors.js';
import { flagValues } from '../options/option.js';
import { checkRunDir } from '../run/prepare.js';
import { train } from '../train/loop.js';
import { dim, fmt, good, heading, Output, type Runner } from './output.js';
import { parseSeeds, sweep } from './train-seeds.js';
import { describeRuntime, runtimeChoice, runtimeOptions, startRuntime } from './runtime.js';

export function registerTrain(program: Command, run: Runner): void {
  const cmd = program.command('train').description('meta-train an MLP on sine-wave tasks; writes checkpoints/<name>/ (model, state, loss curve)');
  cmd.option('--config <file>', 'JSON config file (flags override its values)');
  for (const [key, spec] of Object.entries(TRAIN_OPTIONS)) {
    cmd.option(spec.flag, helpFor(key as OptionKey));
    if (spec.kind === 'bool') cmd.option(`--no-${spec.flag.slice(2)}`, `turn off ${spec.flag}`);
  }
  cmd
    .option('--name <dir>', 'run directory under checkpoints/ (default: <config-or-algo>-<seed>)')
    .option('--out-dir <dir>', 'parent folder of run directories', 'checkpoints')
    .option('--resume <run-dir>', 'continue the run saved in this directory')
    .option('--force', 'replace an existing run directory')
    .option('--seeds <list>', 'train the same config under each of these seeds (e.g. 0,1,2), in <name>-<seed>, as many at a time as --jobs; one progress display')
    .option('--jobs <n>', `with --seeds: runs at a time (default: the number of cores, ${availableParallelism()} here)`);
  runtimeOptions(cmd)
    .option('--quiet', 'print only errors')
    .option('--json', 'print JSON lines on stdout (progress events and a summary) instead of text')
    .action((flags: Record<string, unknown>) => run(() => trainCommand(flags)));
}

async function trainCommand(flags: Record<string, unknown>): Promise<number> {
  const out = new Output({ quiet: Boolean(flags.quiet), json: Boolean(flags.json) });
  const requestedRuntime = runtimeChoice(flags);
  const fromFlags = flagValues(TRAIN_OPTIONS, flags);
  const fromFile = flags.config ? readConfigFile(String(flags.config)) : {};
  const resumeDir = flags.resume as string | undefined;
  if (flags.seeds !== undefined) return seedsCommand(flags, fromFile, fromFlags, out);
  let config: TrainConfig | undefined;
  let changes: Partial<TrainConfig> | undefined;
  let runDir: string;
  if (resumeDir) {
    if (flags.force || flags.name) throw new UsageError('--resume continues its own directory: drop --force and --name');
    changes = { ...fromFile, ...parseOptions(fromFlags, 'options') };
    runDir = resumeDir;
  } else {
    config = resolveConfig(fromFile, fromFlags, flags.config ? `options (with config ${flags.config})` : 'options');
    runDir = join(String(flags.outDir), flags.name === undefined ? `${defaultStem(flags, config)}-${config.seed}` : runName(flags.name));
    checkRunDir(runDir, Boolean(flags.force)); // before the backend starts and anything is printed
  }
  const running = await startRuntime(requestedRuntime);
  if (running.note) out.info(dim(`note: ${running.note}; using TF.js's built-in kernels`));

  let bar: ReturnType<Output['progressBar']> = null;
  let stopSignal: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal) process.exit(signal === 'SIGINT' ? 130 : 143); // a second Ctrl-C: leave now
    stopSignal = signal;
    bar?.stop(); // the bar would overwrite the message
    out.info(`${signal}: finishing the current iteration and writing a checkpoint (again to quit at once)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  let startIteration = 0;
  let lastVal = '-';
  let resolved: TrainConfig | undefined;
  try {
    const result = await train({
      runDir,
      config,
      resume: changes,
      force: Boolean(flags.force),
      shouldStop: () => stopSignal !== null,
      onStart: (s) => {
        resolved = s.config;
        startIteration = s.iteration;
        const c = s.config;
        out.info(`${heading('metalearn train')} ${c.algo} on ${describeRuntime(running)} -> ${runDir}${resumeDir ? ` (resuming at iteration ${s.iteration})` : ''}`);
        out.info(
          dim(
            `  ${s.total} iterations, meta-batch ${c.metaBatch}, ${c.innerSteps} inner step(s) at ${c.innerLr}, ` +
              `${c.metaOptimizer} ${c.metaLr}, MLP 1-${c.hidden.join('-')}-1 ${c.activation}, K=${c.support}, loss ${c.loss}, seed ${c.seed}`,
          ),
        );
        if (s.trainedOn !== null && s.trainedOn !== running.backend) {
          out.info(`note: the run was trained on ${s.trainedOn} and continues on ${running.backend}: it will not match an uninterrupted run bit for bit`);
        }
        out.event({ event: 'start', runDir, backend: running.backend, kernels: running.kernels, iteration: s.iteration, config: c });
        bar = out.progressBar(s.total);
        bar?.start(s.total, s.iteration, { loss: '-', val: lastVal, rate: '-' });
      },
      onProgress: (p) => {
        const rate = (p.iteration - startIteration) / Math.max(1e-3, (Date.now() - started) / 1000);
        if (p.validation) lastVal = fmt(p.validation.after);
        bar?.update(p.iteration, { loss: fmt(p.metaLoss), val: lastVal, rate: rate.toFixed(0) });
        if (p.validation) out.event({ event: 'validation', ...p.validation });
        if (p.logged) out.event({ event: 'progress', iteration: p.iteration, metaLoss: p.metaLoss });
      },
    });
    (bar as ReturnType<Output['progressBar']>)?.stop();
    const val = result.curve.validation.at(-1);
    out.event({ event: 'end', runDir, iteration: result.iteration, stopped: result.stopped, validation: val ?? null });
    if (result.stopped) {
      out.info(`checkpoint written at iteration ${result.iteration}: ${runDir}`);
      // the same backend, or the resumed run would not match an uninterrupted one bit for bit
      out.info(`resume with: npx metalearn train --resume ${runDir}${flags.backend === 'auto' ? '' : ` --backend ${running.backend}`}`);
      return stopSignal === 'SIGTERM' ? 143 : 130;
    }
    const c = resolved!;
    out.info(
      `${good('done')}: ${result.iteration - startIteration} iterations in ${((Date.now() - started) / 1000).toFixed(1)} s (${result.iteration} in all); ` +
        `validation MSE ${fmt(val?.before)} before, ${fmt(val?.after)} after ${c.valUpdates} step(s) (${c.valTasks} tasks, K=${c.valSamples})`,
    );
    out.info(`checkpoint: ${runDir}  (evaluate: npx metalearn eval --checkpoint ${runDir})`);
    return 0;
  } finally {
    (bar as ReturnType<Output['progressBar']>)?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
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
