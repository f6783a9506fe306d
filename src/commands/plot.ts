// `metalearn plot-data`: SVG and PNG plots of the task family, of fits, of the loss
// after each fine-tuning update and of training curves, from the JSON files that
// `train` and `eval` write (fits and losses can also be evaluated on the spot).
import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { runtimeOptions } from './runtime.js';
import { readJson, readRunDir } from '../run/checkpoint.js';
import { helpFor, resolveConfig, TRAIN_OPTIONS, type OptionKey } from '../config/config.js';
import { FAMILY_OPTIONS } from '../tasks/index.js';
import { loadFamily } from '../tasks/load.js';
import { UsageError } from '../base/errors.js';
import { writeFileAtomic } from '../base/files.js';
import { flagValues, helpWithDefault, parseNumber } from '../options/option.js';
import type { Plot } from '../eval/plots.js';
import { EVAL_OPTIONS, evalOptionsWithout, resolveEvalConfig } from '../eval/options.js';
import type { EvalReport } from '../eval/report.js';
import { collectRunDirs, evaluateRunDirs } from './eval.js';
import { Output, type Runner } from './output.js';

type Flags = Record<string, unknown>;
/** Vega and resvg load only when a plot is drawn, so that train and eval start without them. */
type Plots = typeof import('../eval/plots.js');

/** The options that choose the family's tasks: which family, and every family's own. */
const FAMILY_KEYS = ['family', ...Object.keys(FAMILY_OPTIONS)] as OptionKey[];
/** As many waves as the Flux post's "1k sines". */
const FAMILY_COUNT = 1000;

export function registerPlot(program: Command, run: Runner): void {
  const plot = program
    .command('plot-data')
    .description('draw plots as SVG + PNG: the task family, fits, the loss after each fine-tuning update, training curves');

  const family = plot.command('family').description('many tasks sampled from a task family (default: sine waves)');
  for (const key of FAMILY_KEYS) family.option(TRAIN_OPTIONS[key].flag, helpFor(key));
  family
    .option('--count <n>', `tasks to draw (default: ${FAMILY_COUNT})`)
    .option('--seed <n>', `seed of the sampled tasks (default: ${TRAIN_OPTIONS.seed.default})`);
  finish(family, 'family', run, familyCommand);

  const fit = plot
    .command('fit')
    .description('one wave, its support points, and each checkpoint before and after fine-tuning, one panel per checkpoint')
    .addHelpText('after', '\nEither --eval (a report of `metalearn eval --wave A,phase --out`) or --checkpoint with --wave.');
  evaluationOptions(fit, 'tasks');
  finish(fit, 'fit', run, async (flags, plots) => {
    if (flags.checkpoint && flags.wave === undefined) throw new UsageError('plot-data fit: --checkpoint needs --wave A,phase (the wave to fit)');
    return plots.fitPlot(await evalReport(flags));
  });

  const losses = plot
    .command('losses')
    .description('mean loss after each fine-tuning update with 95% confidence bands, one line per checkpoint')
    .addHelpText('after', '\nEither --eval (a report of `metalearn eval --out`) or --checkpoint.');
  evaluationOptions(losses, 'wave');
  finish(losses, 'losses', run, async (flags, plots) => plots.lossesPlot(await evalReport(flags)));

  const curves = plot
    .command('curves')
    .description('meta-training curves: meta-loss and validation loss against the iteration, one line per run')
    .requiredOption('--run <run-dir>', 'run directory whose curve.json to draw; repeat to compare runs', collectRunDirs);
  finish(curves, 'curves', run, curvesCommand);
}

/** The options shared by every kind, and the action. */
function finish(cmd: Command, kind: string, run: Runner, action: (flags: Flags, plots: Plots) => Promise<Plot>): void {
  cmd
    .option('--out <prefix>', 'write <prefix>.svg and <prefix>.png, creating folders', `plots/${kind}`)
    .option('--quiet', 'print only errors')
    .action((flags: Flags) =>
      run(async () => {
        const prefix = String(flags.out).replace(/\.(svg|png)$/i, '');
        const plot = await action(flags, await import('../eval/plots.js'));
        mkdirSync(dirname(prefix), { recursive: true });
        writeFileAtomic(`${prefix}.svg`, plot.svg);
        writeFileAtomic(`${prefix}.png`, plot.png);
        new Output({ quiet: Boolean(flags.quiet), json: false }).info(`wrote ${prefix}.svg and ${prefix}.png`);
        return 0;
      }),
    );
}

/** --eval, or --checkpoint and the options of `metalearn eval` (less the one that makes no sense for this plot, and those that need it). */
function evaluationOptions(cmd: Command, without: keyof typeof EVAL_OPTIONS): void {
  cmd
    .option('--eval <file.json>', 'the report written by `metalearn eval --out`')
    .option('--checkpoint <run-dir>', 'evaluate this run directory instead of reading --eval; repeat for one series per checkpoint', collectRunDirs);
  for (const key of evalOptionsWithout(without)) cmd.option(EVAL_OPTIONS[key].flag, `with --checkpoint: ${helpWithDefault(EVAL_OPTIONS[key])}`);
  runtimeOptions(cmd, 'with --checkpoint: ');
}

async function familyCommand(flags: Flags, plots: Plots): Promise<Plot> {
  const pick = Object.fromEntries(FAMILY_KEYS.map((key) => [key, TRAIN_OPTIONS[key]]));
  const config = resolveConfig({}, flagValues({ ...pick, seed: TRAIN_OPTIONS.seed }, flags), 'plot-data family');
  const count = flags.count === undefined ? FAMILY_COUNT : parseNumber(String(flags.count));
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`plot-data family: --count must be a whole number of at least 1, not ${flags.count}`);
  return plots.familyPlot((await loadFamily(config)).family, count, config.seed);
}

/** The eval report to plot: read from --eval, or computed from --checkpoint like `metalearn eval` does. */
async function evalReport(flags: Flags): Promise<EvalReport> {
  const dirs = flags.checkpoint as string[] | undefined;
  const settings = flagValues(EVAL_OPTIONS, flags);
  if (flags.eval !== undefined) {
    if (dirs || Object.keys(settings).length) throw new UsageError('--eval reads a finished report: --checkpoint and the evaluation options go without it');
    return readReport(String(flags.eval));
  }
  if (!dirs) throw new UsageError('give --eval <file.json> or --checkpoint <run-dir>');
  return (await evaluateRunDirs(dirs, resolveEvalConfig(settings), flags)).report;
}

function readReport(path: string): EvalReport {
  const report = readJson(path, 'eval report') as Partial<EvalReport>;
  const ok = report.settings && Array.isArray(report.results) && report.results.length > 0 && report.results.every((r) => Array.isArray(r.byUpdate));
  if (!ok) throw new UsageError(`${path} is not a report of \`metalearn eval --out\``);
  return report as EvalReport;
}

async function curvesCommand(flags: Flags, plots: Plots): Promise<Plot> {
  const dirs = flags.run as string[];
  return plots.curvesPlot(
    dirs.map((run) => {
      const { curve } = readRunDir(run);
      if (!curve) throw new UsageError(`${run}: a plain layers model has no training curve`);
      return { run, curve };
    }),
  );
}
