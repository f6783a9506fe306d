// `metalearn eval`: fine-tune checkpoints on the same held-out tasks and report the loss after
// each update: mean and 95% confidence interval over tasks, tasks that diverged counted apart,
// and for runs of one config under several seeds, the spread over seeds.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { RunError, UsageError } from '../base/errors.js';
import { describeFsError, whyNotWritable, writeFileAtomic } from '../base/files.js';
import type { TrainConfig } from '../config/config.js';
import { EVAL_OPTIONS, resolveEvalConfig, type EvalConfig } from '../eval/options.js';
import { familyDifferences } from '../eval/checkpoints.js';
import { loadTasks } from '../tasks/load.js';
import { evaluateCheckpoints, type EvalReport } from '../eval/report.js';
import { flagValues, helpWithDefault } from '../options/option.js';
import { loadModel, runDirOf } from '../run/checkpoint.js';
import { configOf, disposeModel, MODEL_FILE, RUNS_FOLDER, type LoadedModel } from '../run/format.js';
import { formatTable, outputWidth, shownUpdates } from './eval-table.js';
import { dim, heading, Output, type Runner } from './output.js';
import { describeRuntime, runtimeChoice, runtimeOptions, startRuntime } from './runtime.js';

export function registerEval(program: Command, run: Runner): void {
  const cmd = program
    .command('eval')
    .description('fine-tune checkpoints on the same held-out tasks; print the loss after every update with 95% confidence intervals')
    .option('--checkpoint <run-dir>', `run directory (or its model.json); repeat to compare several (default: the most recently trained run under ${RUNS_FOLDER}/)`, collectRunDirs);
  for (const spec of Object.values(EVAL_OPTIONS)) cmd.option(spec.flag, helpWithDefault(spec));
  runtimeOptions(cmd);
  cmd
    .option('--all-updates', 'print the loss after every update (default: after updates 0, 1, 2, 5, 10, 20, 50, 100, ... and the last; --out and --json hold every update)')
    .option('--out <file.json>', 'write the per-update statistics and the settings as JSON')
    .option('--quiet', 'print only the table')
    .option('--json', 'print the results as JSON on stdout instead of a table')
    .action((flags: Record<string, unknown>) => run(() => evalCommand(flags)));
}

/** Commander's accumulator for a repeatable option that names run directories (a run's model.json names its directory). */
export const collectRunDirs = (value: string, previous: string[] = []): string[] => [...previous, runDirOf(value)];

/** The run under checkpoints/ whose latest checkpoint is the newest. */
function latestRun(): string {
  const runs = existsSync(RUNS_FOLDER) ? readdirSync(RUNS_FOLDER).map((name) => join(RUNS_FOLDER, name)).filter((dir) => existsSync(join(dir, MODEL_FILE))) : [];
  if (runs.length === 0) throw new UsageError(`no --checkpoint given, and no run under ${RUNS_FOLDER}/ to evaluate: train one first (npx metalearn train --algo reptile), or name one with --checkpoint`);
  const committed = (dir: string) => statSync(join(dir, MODEL_FILE)).mtimeMs;
  return runs.reduce((a, b) => (committed(b) > committed(a) ? b : a));
}

/** Loads the checkpoints, fine-tunes them all as `metalearn eval` does on the chosen backend, and frees their weights; their configs stay (null for a plain layers model). */
export async function evaluateRunDirs(dirs: string[], settings: EvalConfig, flags: Record<string, unknown>): Promise<{ report: EvalReport; configs: (TrainConfig | null)[] }> {
  await startRuntime(runtimeChoice(flags));
  const models: { dir: string; model: LoadedModel }[] = [];
  try {
    for (const dir of dirs) models.push({ dir, model: loadModel(dir) });
    const base = configOf(models[0].model);
    const loaded = await loadTasks(base, models[0].model.info?.data ?? null, settings.otherData);
    return { report: evaluateCheckpoints(models, settings, base, loaded), configs: models.map(({ model }) => model.info?.config ?? null) };
  } finally {
    for (const { model } of models) disposeModel(model);
  }
}

async function evalCommand(flags: Record<string, unknown>): Promise<number> {
  const out = new Output({ quiet: Boolean(flags.quiet), json: Boolean(flags.json) });
  const settings = resolveEvalConfig(flagValues(EVAL_OPTIONS, flags));
  const outFile = flags.out === undefined ? null : String(flags.out);
  if (outFile !== null) {
    // its folder made, as plot-data's --out is, and checked before the evaluation, not after
    try {
      mkdirSync(dirname(outFile), { recursive: true });
    } catch (e) {
      throw new UsageError(`--out ${outFile}: cannot create ${dirname(outFile)}: ${describeFsError(e)}`);
    }
    const unwritable = whyNotWritable(outFile);
    if (unwritable) throw new UsageError(`--out ${outFile}: ${unwritable}`);
  }
  let dirs = flags.checkpoint as string[] | undefined;
  if (!dirs) {
    dirs = [latestRun()];
    out.info(`no --checkpoint: evaluating ${dirs[0]}, the most recently trained run under ${RUNS_FOLDER}/`);
  }
  const { report, configs } = await evaluateRunDirs(dirs, settings, flags);
  out.info(
    `${heading('metalearn eval')} on ${describeRuntime(report)}: ${settings.draws > 1 ? `${report.settings.tasks / settings.draws} task(s) x ${settings.draws} support draws` : `${report.settings.tasks} task(s)`}, K=${settings.samples} ${report.settings.sampleRange ? `from [${report.settings.sampleRange.map((v) => +v.toFixed(3))}]` : "of each task's points"}, ` +
      `${settings.updates} update(s); MSE on ${report.taskFamily.scoredOn}${settings.query === 'random' ? ` and on K=${settings.samples} random query points` : ''}`,
  );
  const otherFamilies = familyNote(report, configs, FAMILY_KEYS.some((key) => settings[key] !== undefined));
  if (otherFamilies) out.info(otherFamilies);
  if (flags.json) out.event(report);
  else printTable(out, report, Boolean(flags.allUpdates));
  if (outFile !== null) {
    try {
      writeFileAtomic(outFile, `${JSON.stringify(report, null, 1)}\n`);
    } catch (e) {
      throw new RunError(`cannot write ${outFile}: ${describeFsError(e)}`);
    }
    out.info(`wrote ${outFile}`);
  }
  return 0;
}

/** The eval options that choose the task family, else the first checkpoint's. */
const FAMILY_KEYS = ['amplitude', 'phase', 'phases', 'frequency', 'xRange'] as const;

/** Where the checkpoints were trained on different task families: which one the tasks are drawn from, and how the others differ from it; else null. */
function familyNote(report: EvalReport, configs: (TrainConfig | null)[], given: boolean): string | null {
  const trained = configs.map((c) => c && familyDifferences(c, report.taskFamily));
  if (new Set(trained.filter((d) => d !== null).map((d) => d.join())).size < 2) return null;
  const source = given ? 'the task family asked for' : `the task family of ${report.results[0].checkpoint}, the first checkpoint`;
  const others = trained.flatMap((d, i) => (d?.length ? [`${report.results[i].checkpoint} was trained on another: ${d.join(', ')}`] : []));
  return `note: the tasks are drawn from ${source}; ${others.join('; ')}`;
}

/** The table on stdout, and what its numbers are on stderr. */
function printTable(out: Output, report: EvalReport, allUpdates: boolean): void {
  const updates = shownUpdates(report.settings.updates, allUpdates);
  process.stdout.write(formatTable(report, updates, outputWidth()));
  const spread = report.settings.tasks === 1 ? 'the loss of the one task (no interval over one task)' : 'mean +- half-width of the 95% confidence interval over tasks (1.96 sd / sqrt(n))';
  out.info(dim(`${spread}; a task whose loss is above ${+report.settings.divergedAbove.toPrecision(4)} or not finite counts as diverged, left out of the mean`));
  if (updates.length < report.settings.updates + 1) out.info(dim(`the loss after updates ${updates.join(', ')} of ${report.settings.updates}: --all-updates shows every one`));
  if (report.seedGroups.length) out.info(dim("over seeds: the mean of the runs' means +- half-width of the 95% t-interval over seeds (t sd / sqrt(runs))"));
  if (report.results.some((r) => r.phaseAccuracy)) out.info(dim("right phase: the share of tasks whose fit is nearer (grid MSE) its own wave than the family's other phases'"));
  if (report.results.some((r) => r.adaptation === 'learned loss')) out.info(dim(`daml adapts down its learned loss at K=${report.settings.samples} fresh unlabeled source inputs per update, not on the support points`));
  const everything = report.results.every((r) => r.byUpdate.slice(1).every((s) => s.diverged === s.n));
  if (everything && report.settings.updates > 0) out.info(`every task diverged after every update, for every checkpoint: try a smaller --lr or fewer --updates`);
}
