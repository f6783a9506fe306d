// `metalearn upgrade`: converts run directories written by metalearn 0.1 (format 1) to the current format.
import type { Command } from 'commander';
import { runDirOf } from '../run/checkpoint.js';
import { upgradeRun } from '../run/upgrade.js';
import { Output, type Runner } from './output.js';

export function registerUpgrade(program: Command, run: Runner): void {
  program
    .command('upgrade')
    .description('rewrite run directories of metalearn 0.1 (format 1) in the current format, in place')
    .argument('<run-dir...>', 'run directories')
    .option('--quiet', 'print only errors')
    .action((dirs: string[], flags: Record<string, unknown>) =>
      run(async () => {
        const out = new Output({ quiet: Boolean(flags.quiet), json: false });
        for (const dir of dirs.map(runDirOf)) {
          const iteration = upgradeRun(dir);
          out.info(iteration === null ? `${dir}: already in the current format` : `${dir}: upgraded (iteration ${iteration})`);
        }
        return 0;
      }),
    );
}
