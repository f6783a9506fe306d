// The metalearn command line: thin commands over the library in src/.
import chalk from 'chalk';
import { Command, CommanderError } from 'commander';
import { ALGORITHMS } from '../algorithms/index.js';
import { RunError, UsageError } from '../base/errors.js';
import { registerEval } from './eval.js';
import { registerPlot } from './plot.js';
import { registerServe } from './serve.js';
import { registerTrain } from './train.js';
import { registerUpgrade } from './upgrade.js';
import { VERSION } from '../base/version.js';

const debug = process.argv.includes('--debug');

/** Runs a command's action and turns its outcome into an exit code: 0 ok, 1 runtime failure, 2 usage error. */
async function run(action: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action();
  } catch (e) {
    const usage = e instanceof UsageError;
    // Typed arrays past 2^32 elements or past free memory: the sizes were allowed but are too large here.
    const outOfMemory = e instanceof RangeError && /array length|allocation failed|out of memory/i.test(e.message);
    const message = outOfMemory ? `out of memory (${e.message}): try a smaller model, meta-batch or task count` : e instanceof Error ? e.message : String(e);
    const explained = usage || outOfMemory || e instanceof RunError;
    process.stderr.write(`${chalk.red('error:')} ${message}${explained || debug ? '' : chalk.dim(' (--debug shows the stack trace)')}\n`);
    if (debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}

/** Commands that a misspelt one begins or is begun by ("evaluate": eval; "plot": plot-data): commander's own suggestions reach only near misses (3 edits at most). */
function commandsAround(word: string, program: Command): string[] {
  return program.commands.map((c) => c.name()).filter((name) => word.startsWith(name) || name.startsWith(word));
}

/** An unknown command's error, with the commands around it, else commander's (and its near miss). */
function unknownCommand(program: Command, word: string): never {
  const around = commandsAround(word, program);
  // commander's own error is its unknownCommand(), not in its typings; it runs when no 'command:*' listener is set
  if (around.length === 0) (program as Command & { unknownCommand(): never }).unknownCommand();
  return program.error(`error: unknown command '${word}'\n(Did you mean ${around.length > 1 ? 'one of ' : ''}${around.join(', ')}?)`, { code: 'commander.unknownCommand' });
}

export function buildProgram(): Command {
  const program = new Command('metalearn')
    .description(`Gradient-based meta-learning on sine-wave regression, on TensorFlow.js; algorithms (--algo): ${ALGORITHMS.join(', ')}`)
    .version(VERSION)
    .option('--debug', 'print stack traces of errors')
    // commander's errors (unknown command or option, missing value) on one line, with a pointer to --help
    .configureOutput({ outputError: (text, write) => write(`${chalk.red(text.trim().replace(/\s*\n\s*/g, ' '))} (add --help for usage)\n`) })
    .exitOverride();
  registerTrain(program, run);
  registerEval(program, run);
  registerPlot(program, run);
  registerUpgrade(program, run);
  registerServe(program, run);
  program.commands.forEach((c) => c.exitOverride().option('--debug', 'print stack traces of errors'));
  program.on('command:*', ([word]: string[]) => unknownCommand(program, word));
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
