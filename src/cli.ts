// The metalearn command line: thin commands over the library in src/.
import chalk from 'chalk';
import { Command, CommanderError } from 'commander';
import { UsageError } from './config.js';
import { registerEval } from './commands/eval.js';
import { registerPlot } from './commands/plot.js';
import { registerTrain } from './commands/train.js';
import { DivergenceError } from './train.js';
import { VERSION } from './version.js';

const debug = process.argv.includes('--debug');

/** Runs a command's action and turns its outcome into an exit code: 0 ok, 1 runtime failure, 2 usage error. */
async function run(action: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action();
  } catch (e) {
    const usage = e instanceof UsageError;
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`${chalk.red('error:')} ${message}\n`);
    if (debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    else if (!usage && !(e instanceof DivergenceError)) process.stderr.write(chalk.dim('(run with --debug for the stack trace)\n'));
    process.exitCode = usage ? 2 : 1;
  }
}

export function buildProgram(): Command {
  const program = new Command('metalearn')
    .description('Gradient-based meta-learning (MAML, FOMAML, Reptile) on sine-wave regression, on TensorFlow.js')
    .version(VERSION)
    .option('--debug', 'print stack traces of errors')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (text, write) => write(chalk.red(text)) })
    .exitOverride();
  registerTrain(program, run);
  registerEval(program, run);
  registerPlot(program, run);
  program.commands.forEach((c) => c.exitOverride().option('--debug', 'print stack traces of errors'));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and --version exit 0; unknown commands, options and missing arguments are usage errors
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    throw e;
  }
}
