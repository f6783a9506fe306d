// The runs shipped with metalearn (checkpoints/shipped/, the runs behind docs/results) are out of the
// user's way: no command writes in their folder, a resume of one is refused with the command that
// continues it into a run of the user's own, and that command leaves the shipped run as it was.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli, runFiles } from './helpers.js';

const shipped = fileURLToPath(new URL('../../checkpoints/shipped', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'metalearn-shipped-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const cli = (...args: string[]) => runCli(scratch, ...args);

/** Every file of the shipped folder and its hash: what no command may change. */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const run of readdirSync(shipped)) for (const file of readdirSync(join(shipped, run))) out[`${run}/${file}`] = createHash('sha256').update(readFileSync(join(shipped, run, file))).digest('hex');
  return out;
}

describe('shipped runs', () => {
  const before = snapshot();
  const run = join(shipped, 'maml-jax-0'); // 1-40-40-1, 4 tasks of K = 20: quick to continue
  const iteration = (dir: string) => JSON.parse(readFileSync(runFiles(dir).model, 'utf8')).userDefinedMetadata.metalearn.iteration as number;

  it('a resume of a shipped run is refused, with the command that continues it into a run of your own', () => {
    const r = cli('train', '--resume', run, '--iterations', '30000');
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`maml-jax-0 is a run shipped with metalearn .*which no command changes: continue it into a run of your own: npx metalearn train --resume \\S*maml-jax-0 --name <new name>`));
  });

  it('no new run is written in their folder, whatever its name; upgrade refuses them too', () => {
    const refusals = [
      cli('train', '--algo', 'random', '--out-dir', shipped, '--name', 'mine'),
      cli('train', '--algo', 'random', '--out-dir', join(shipped, '..'), '--name', 'shipped', '--force'),
      cli('train', '--algo', 'random', '--out-dir', shipped, '--name', 'maml-jax-0', '--force'),
      cli('upgrade', run),
    ];
    for (const r of refusals) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /shipped with metalearn .*which no command changes/);
    }
  });

  it('--resume <shipped run> --name <new> continues it in a new directory, from its checkpoint', () => {
    const start = iteration(run);
    const r = cli('train', '--resume', run, '--name', 'jax-continued', '--iterations', String(start + 20), '--eval-every', '0', '--backend', 'cpu');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`continuing \\S*maml-jax-0 from iteration ${start}`));
    const continued = join(scratch, 'checkpoints', 'jax-continued');
    assert.equal(iteration(continued), start + 20);
    const curve = (dir: string) => JSON.parse(readFileSync(runFiles(dir).curve, 'utf8')) as { train: { iteration: number }[] };
    const old = curve(run).train;
    assert.deepEqual(curve(continued).train.slice(0, old.length), old, 'the continued run carries the shipped run\'s curve');
  });

  it('and every file of every shipped run is as it was', () => {
    assert.deepEqual(snapshot(), before);
  });
});
