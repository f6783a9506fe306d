// `metalearn train`: parse and validate options, pick the backend, run the loop.
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { loadTrainState } from '../checkpoint.js';
import { flagValues, helpWithDefault, parseOptions, readConfigFile, resolveConfig, TRAIN_OPTIONS, UsageError, type OptionKey, type TrainConfig } from '../config.js';
import { describeRuntime, runtimeChoice, runtimeOptions, startRuntime } from './runtime.js';
import { LEARNERS } from '../algorithms/index.js';
import { checkRunDir, RESUMABLE_CHANGES, train } from '../train.js';
import { dim, fmt, good, heading, Output } from './output.js';

const resumable = (key: string) => (RESUMABLE_CHANGES as readonly string[]).includes(key);

export function registerTrain(program: Command, run: (action: () => Promise<number>) => Promise<void>): void {
  const cmd = program.command('train').description('meta-train an MLP on sine-wave tasks; writes checkpoints/<name>/ (model, state, loss curve)');
  cmd.option('--config <file>', 'JSON config file (flags override its values)');
  runtimeOptions(cmd);
  for (const [key, spec] of Object.entries(TRAIN_OPTIONS)) {
    cmd.option(spec.flag, helpWithDefault(key as OptionKey));
    if (spec.kind === 'bool') cmd.option(`--no-${spec.flag.slice(2)}`, `turn off ${spec.flag}`);
  }
  cmd
    .option('--name <dir>', 'run directory under checkpoints/ (default: <config-or-algo>-<seed>)')
    .option('--out-dir <dir>', 'parent folder of run directories', 'checkpoints')
    .option('--resume <run-dir>', 'continue the run saved in this directory')
    .option('--force', 'replace an existing run directory')
    .option('--quiet', 'print only errors')
    .option('--json', 'print JSON lines on stdout (progress events and a summary) instead of text')
    .action((flags: Record<string, unknown>) => run(() => trainCommand(flags)));
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function trainCommand(flags: Record<string, unknown>): Promise<number> {
  const out = new Output({ quiet: Boolean(flags.quiet), json: Boolean(flags.json) });
  const requestedRuntime = runtimeChoice(flags);
  const fromFlags = flagValues(TRAIN_OPTIONS, flags);
  const fromFile = flags.config ? readConfigFile(String(flags.config)) : {};
  let config: TrainConfig;
  let runDir: string;
  let trainedOn: string | null = null;
  let startIteration = 0;
  const resumeDir = flags.resume as string | undefined;
  if (resumeDir) {
    if (flags.force || flags.name) throw new UsageError('--resume continues its own directory: drop --force and --name');
    const { state } = loadTrainState(resumeDir);
    const saved = state.config;
    startIteration = state.iteration;
    const requested = { ...fromFile, ...parseOptions(fromFlags, 'options') } as Record<string, unknown>;
    // an annealed outer step size is scheduled over the run's length: extending the run would restart the schedule
    const fixed = (k: string) => !resumable(k) || (k === 'iterations' && saved.metaLrFinal !== null);
    const conflicts = Object.entries(requested).filter(([k, v]) => fixed(k) && !sameValue(v, saved[k as OptionKey]));
    if (conflicts.length > 0) {
      const why = (k: string) => (resumable(k) ? ` (its outer step size is annealed to --meta-lr-final over those iterations)` : '');
      const differences = conflicts.map(([k, v]) => `${k} = ${JSON.stringify(saved[k as OptionKey])}, not ${JSON.stringify(v)}${why(k)}`);
      throw new UsageError(`--resume ${resumeDir}: the run was trained with ${differences.join('; ')}: start a new run (--name) to change ${conflicts.length > 1 ? 'them' : 'it'}`);
    }
    config = resolveConfig(saved, Object.fromEntries(Object.entries(requested).filter(([k]) => resumable(k))), `--resume ${resumeDir}`);
    runDir = resumeDir;
    trainedOn = state.backend;
  } else {
    config = resolveConfig(fromFile, fromFlags, flags.config ? `options (with config ${flags.config})` : 'options');
    const stem = flags.config ? basename(String(flags.config)).replace(/\.json$/i, '') : config.algo;
    runDir = join(String(flags.outDir), String(flags.name ?? `${stem}-${config.seed}`));
    checkRunDir(runDir, Boolean(flags.force)); // before the backend starts and anything is printed
  }
  const running = await startRuntime(requestedRuntime);
  const { backend } = running;
  if (running.note) out.info(dim(`note: ${running.note}; using TF.js's built-in kernels`));
  const total = LEARNERS[config.algo].trains ? config.iterations : 0; // random trains nothing
  out.info(`${heading('metalearn train')} ${config.algo} on ${describeRuntime(running)} -> ${runDir}${resumeDir ? ' (resuming)' : ''}`);
  out.info(
    dim(
      `  ${total} iterations, meta-batch ${config.metaBatch}, ${config.innerSteps} inner step(s) at ${config.innerLr}, ` +
        `${config.metaOptimizer} ${config.metaLr}, MLP 1-${config.hidden.join('-')}-1 ${config.activation}, K=${config.support}, loss ${config.loss}, seed ${config.seed}`,
    ),
  );
  if (trainedOn !== null && trainedOn !== backend) {
    out.info(`note: the run was trained on ${trainedOn} and continues on ${backend}: it will not match an uninterrupted run bit for bit`);
  }
  out.event({ event: 'start', runDir, backend, kernels: running.kernels, config });

  const bar = out.progressBar(total);
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
  let lastVal = '-';
  bar?.start(total, startIteration, { loss: '-', val: lastVal, rate: '-' });
  try {
    const result = await train({
      config,
      runDir,
      resume: Boolean(resumeDir),
      force: Boolean(flags.force),
      shouldStop: () => stopSignal !== null,
      onProgress: (p) => {
        const rate = (p.iteration - startIteration) / Math.max(1e-3, (Date.now() - started) / 1000);
        if (p.validation) lastVal = fmt(p.validation.after);
        bar?.update(p.iteration, { loss: fmt(p.metaLoss), val: lastVal, rate: rate.toFixed(0) });
        if (p.validation) out.event({ event: 'validation', ...p.validation });
        if (p.metaLoss !== null && p.iteration % config.logEvery === 0) out.event({ event: 'progress', iteration: p.iteration, metaLoss: p.metaLoss });
      },
    });
    bar?.stop();
    const val = result.curve.validation.at(-1);
    out.event({ event: 'end', runDir, iteration: result.iteration, stopped: result.stopped, validation: val ?? null });
    if (result.stopped) {
      out.info(`checkpoint written at iteration ${result.iteration}: ${runDir}`);
      // the same backend, or the resumed run would not match an uninterrupted one bit for bit
      out.info(`resume with: npx metalearn train --resume ${runDir}${flags.backend === 'auto' ? '' : ` --backend ${backend}`}`);
      return stopSignal === 'SIGTERM' ? 143 : 130;
    }
    out.info(
      `${good('done')}: ${result.iteration - startIteration} iterations in ${((Date.now() - started) / 1000).toFixed(1)} s (${result.iteration} in all); ` +
        `validation MSE ${fmt(val?.before)} before, ${fmt(val?.after)} after ${config.valUpdates} step(s) (${config.valTasks} tasks, K=${config.valSamples})`,
    );
    out.info(`checkpoint: ${runDir}  (evaluate: npx metalearn eval --checkpoint ${runDir})`);
    return 0;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
