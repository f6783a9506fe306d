// `metalearn eval`: fine-tune checkpoints on the same held-out tasks and report
// the grid MSE after each SGD update, mean and 95% confidence interval.
import type { Command } from 'commander';
import { describeRuntime, runtimeChoice, runtimeOptions, startRuntime } from './runtime.js';
import { disposeModel, loadModel, type LoadedModel } from '../checkpoint.js';
import { defaultsFor } from '../config.js';
import { RunError, UsageError } from '../errors.js';
import { describeFsError, whyNotWritable, writeFileAtomic } from '../fsutil.js';
import { flagValues, helpWithDefault } from '../options.js';
import { EVAL_OPTIONS, evaluateCheckpoints, resolveEvalConfig, type EvalConfig, type EvalReport } from '../report.js';
import { dim, heading, Output, type Runner } from './output.js';

export function registerEval(program: Command, run: Runner): void {
  const cmd = program
    .command('eval')
    .description('fine-tune checkpoints on the same held-out tasks; print the loss after every update with 95% confidence intervals')
    .requiredOption('--checkpoint <run-dir>', 'run directory (model.json + weights.bin); repeat to compare several', collect);
  for (const spec of Object.values(EVAL_OPTIONS)) cmd.option(spec.flag, helpWithDefault(spec));
  runtimeOptions(cmd);
  cmd
    .option('--out <file.json>', 'write the per-update statistics and the settings as JSON')
    .option('--quiet', 'print only the table')
    .option('--json', 'print the results as JSON on stdout instead of a table')
    .action((flags: Record<string, unknown>) => run(() => evalCommand(flags)));
}

/** Commander's accumulator for a repeatable option. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Loads the checkpoints, fine-tunes them all as `metalearn eval` does on the chosen backend, and frees their weights. */
export async function evaluateRunDirs(dirs: string[], settings: EvalConfig, flags: Record<string, unknown>): Promise<EvalReport> {
  await startRuntime(runtimeChoice(flags));
  const models: { dir: string; model: LoadedModel }[] = [];
  try {
    for (const dir of dirs) models.push({ dir, model: loadModel(dir) });
    return evaluateCheckpoints(models, settings, models[0].model.info?.config ?? defaultsFor('maml'));
  } finally {
    for (const { model } of models) disposeModel(model);
  }
}

async function evalCommand(flags: Record<string, unknown>): Promise<number> {
  const out = new Output({ quiet: Boolean(flags.quiet), json: Boolean(flags.json) });
  const settings = resolveEvalConfig(flagValues(EVAL_OPTIONS, flags));
  const outFile = flags.out === undefined ? null : String(flags.out);
  const unwritable = outFile === null ? null : whyNotWritable(outFile);
  if (unwritable) throw new UsageError(`--out ${outFile}: ${unwritable}`); // before the evaluation, not after
  const report = await evaluateRunDirs(flags.checkpoint as string[], settings, flags);
  out.info(
    `${heading('metalearn eval')} on ${describeRuntime(report)}: ${report.settings.tasks} task(s), K=${settings.samples} from [${report.settings.sampleRange.map((v) => +v.toFixed(3))}], ` +
      `${settings.updates} SGD update(s); grid MSE on ${report.settings.gridPoints} points over x in [${report.family.xRange.map((v) => +v.toFixed(3))}]`,
  );
  if (flags.json) out.event(report);
  else {
    process.stdout.write(formatTable(report));
    out.info(dim('mean +- half-width of the 95% confidence interval over tasks (1.96 sd / sqrt(n))'));
    if (report.results.some((r) => r.phaseAccuracy)) out.info(dim("right phase: the share of tasks whose fit is nearer (grid MSE) its own wave than the family's other phases'"));
    if (report.results.some((r) => r.adaptation === 'learned loss')) out.info(dim(`daml adapts down its learned loss at K=${settings.samples} fresh unlabeled source inputs per update, not on the support points`));
  }
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

function formatTable(report: EvalReport): string {
  const cell = (m: number, ci: number) => (Math.abs(m) >= 100 ? `${m.toExponential(2)}+-${ci.toExponential(1)}` : `${m.toFixed(3)}+-${ci.toFixed(3)}`);
  const header = ['checkpoint', 'lr', ...report.results[0].byUpdate.map((s) => `${s.update}`)];
  const rows = report.results.flatMap((r) => [
    [r.checkpoint, String(r.lr), ...r.byUpdate.map((s) => cell(s.mean, s.ci95))],
    ...(r.phaseAccuracy ? [['  right phase', '', ...r.phaseAccuracy.map((a) => `${(100 * a).toFixed(1)}%`)]] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return `${line(header)}\n${rows.map(line).join('\n')}\n`;
}
