// Bad input, tried as a user types it: every refusal is one line on stderr, exit 2
// (usage) with no stack trace, and writes or overwrites nothing. docs/reliability.md's
// "Reliability" table points here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelJson } from '../src/run/checkpoint.js';
import { mountTmpfs, runCli, runFiles, type CliResult } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'metalearn-input-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const cli = (...args: string[]) => runCli(scratch, ...args);

/** A refusal: the exit code, one line on stderr that matches `message`, nothing on stdout. */
function assertRefused(r: CliResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], message);
}

let outDirs = 0;
/**
 * `train` with these arguments (and a fresh --out-dir unless they name one) is refused with exit 2
 * on one line that matches every message (several bad options are all named on that line), and
 * the fresh --out-dir is never created.
 */
function assertTrainRefused(args: string[], ...messages: RegExp[]): void {
  const outDir = join(scratch, `out-${++outDirs}`);
  const ownOutDir = args.includes('--out-dir');
  const r = cli('train', ...args, ...(ownOutDir ? [] : ['--out-dir', outDir]));
  for (const message of messages) assertRefused(r, 2, message);
  if (!ownOutDir) assert.ok(!existsSync(outDir), `${args.join(' ')} wrote ${outDir}`);
}

/** `eval` with these arguments is refused like that (it checks its options before loading any checkpoint). */
function assertEvalRefused(args: string[], ...messages: RegExp[]): void {
  const r = cli('eval', '--checkpoint', 'none', ...args);
  for (const message of messages) assertRefused(r, 2, message);
}

/** The bytes of every file in a directory, to show that a refusal changed none of them. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

describe('bad input: names, commands and flags', () => {
  it('unknown algorithm, activation, loss or backend: exit 2, naming the value and the choices', () => {
    assertTrainRefused(['--algo', 'mammal'], /'algo' \(--algo\).*'maml'.*received 'mammal'/);
    assertTrainRefused(['--activation', 'sigmoid', '--loss', 'huber'], /'activation' \(--activation\).*'relu' \| 'tanh'.*received 'sigmoid'/, /'loss' \(--loss\).*'mse' \| 'l1'.*received 'huber'/);
    assertTrainRefused(['--backend', 'gpu'], /unknown backend 'gpu': choose one of auto, tensorflow, cuda, wasm, cpu/);
    for (const name of ['../escape', 'a/b', '..', 'a\\b']) assertTrainRefused(['--name', name], /--name .*expected the name of one directory under --out-dir/);
  });

  it('unknown command, unknown flag, missing flag value: exit 2, one line', () => {
    assertRefused(cli('frobnicate'), 2, /unknown command 'frobnicate' \(add --help for usage\)$/);
    assertTrainRefused(['--iteratons', '5'], /unknown option '--iteratons' \(Did you mean --iterations\?\)/);
    assertEvalRefused(['--bogus'], /unknown option '--bogus'/);
    assertRefused(cli('train', '--out-dir', join(scratch, 'never'), '--iterations'), 2, /option '--iterations <n>' argument missing/);
  });

  it('--debug, and only --debug, adds the stack trace', () => {
    const r = cli('train', '--iterations', '-1', '--out-dir', join(scratch, 'debug'), '--debug');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*'iterations'.*\n.*\n\s+at checkSome /);
  });
});

describe('bad input: numbers', () => {
  it('counts (iterations, tasks, samples, steps, updates, hidden sizes) that are zero, negative, fractional, NaN, infinite or not numbers', () => {
    assertTrainRefused(['--meta-batch', '0', '--support', '0', '--hidden', '0'], /'metaBatch' \(--meta-batch\) must be at least 1/, /'support' \(--support\) must be at least 1/, /'hidden'\[0\] \(--hidden\) must be at least 1/);
    assertTrainRefused(['--iterations', '-1', '--inner-steps', '-2', '--hidden', '40,-8', '--seed', '-3'], /'iterations' \(--iterations\) must be 0 or more/, /'innerSteps' \(--inner-steps\) must be at least 1/, /'hidden'\[1\] \(--hidden\) must be at least 1/, /'seed' \(--seed\) must be 0 or more/);
    assertTrainRefused(['--iterations', '2.5', '--meta-batch', '1.5', '--hidden', '40.5'], /'iterations' \(--iterations\) must be a whole number/, /'metaBatch' \(--meta-batch\) must be a whole number/, /'hidden'\[0\] \(--hidden\) must be a whole number/);
    assertTrainRefused(['--iterations', 'NaN', '--support', 'nan'], /'iterations' \(--iterations\) must be a finite number, not NaN; 'support' \(--support\) must be a finite number, not NaN$/);
    assertTrainRefused(['--iterations', 'Infinity', '--val-tasks', '-inf', '--hidden', 'inf'], /'iterations' \(--iterations\) must be a finite number/, /'valTasks' \(--val-tasks\) must be a finite number/, /'hidden'\[0\] \(--hidden\) must be a finite number/);
    assertTrainRefused(['--iterations', 'ten', '--val-samples', '0x10', '--hidden', '40,abc', '--query', ''], /'iterations' \(--iterations\) expected a number/, /'valSamples' \(--val-samples\) expected a number/, /'hidden'\[1\] \(--hidden\) expected a number/, /'query' \(--query\) expected a number/);
    assertEvalRefused(['--tasks', '0', '--samples', '0'], /eval: 'samples' \(--samples\) must be at least 1; 'tasks' \(--tasks\) must be at least 1$/);
    assertEvalRefused(['--tasks', '-600', '--samples', '2.5', '--updates', '-1'], /'samples' \(--samples\) must be a whole number/, /'updates' \(--updates\) must be 0 or more/, /'tasks' \(--tasks\) must be at least 1/);
    assertEvalRefused(['--tasks', 'NaN', '--samples', 'Infinity', '--updates', 'ten'], /'samples' \(--samples\) must be a finite number/, /'updates' \(--updates\) expected a number/, /'tasks' \(--tasks\) must be a finite number, not NaN/);
  });

  it('learning rates and clipping norms that are negative, zero, NaN or infinite', () => {
    assertTrainRefused(['--inner-lr', '-0.1', '--meta-lr', '0', '--clip-grad', '-1'], /'innerLr' \(--inner-lr\) must be greater than 0/, /'metaLr' \(--meta-lr\) must be greater than 0/, /'clipGrad' \(--clip-grad\) must be greater than 0/);
    assertTrainRefused(['--inner-lr', 'NaN', '--meta-lr', 'Infinity', '--meta-lr-final', '1e400', '--clip-grad', '-inf'], /'innerLr' \(--inner-lr\) must be a finite number, not NaN/, /'metaLr' \(--meta-lr\) must be a finite number/, /'metaLrFinal' \(--meta-lr-final\) must be a finite number/, /'clipGrad' \(--clip-grad\) must be a finite number/);
    assertEvalRefused(['--lr', 'nan'], /'lr' \(--lr\) must be a finite number, not NaN/);
    assertEvalRefused(['--lr', '0'], /'lr' \(--lr\) must be greater than 0/);
  });

  it('ranges with lo >= hi, or not two numbers', () => {
    assertTrainRefused(['--x-range', '1,1', '--amplitude', '5,1', '--phase', '2pi,pi'], /'amplitude' \(--amplitude\) needs lo <= hi/, /'phase' \(--phase\) needs lo <= hi/, /'xRange' \(--x-range\) needs lo < hi/);
    assertTrainRefused(['--x-range', '3', '--amplitude', '1,2,3'], /'amplitude' \(--amplitude\) expected two numbers lo,hi/, /'xRange' \(--x-range\) expected two numbers lo,hi/);
    assertEvalRefused(['--sample-range', '3,1', '--x-range', '5,-5'], /'sampleRange' \(--sample-range\) needs lo < hi/, /'xRange' \(--x-range\) needs lo < hi/);
  });

  it('K larger than the points it is drawn from, and sizes too large to allocate; a value the user did not give named as a default', () => {
    assertTrainRefused(['--algo', 'reptile', '--inner-batch', '20', '--support', '10'], /'innerBatch' \(--inner-batch\) inner-batch 20 is larger than support 10: give --inner-batch 10 or less, or --support 20 or more$/);
    assertTrainRefused(['--algo', 'reptile', '--support', '5'], /'innerBatch' \(--inner-batch\) inner-batch 10 \(reptile's default\) is larger than support 5: give --inner-batch 5 or less/);
    assertTrainRefused(['--algo', 'reptile', '--inner-batch', '60'], /inner-batch 60 is larger than support 50 \(reptile's default\): give --inner-batch 50 or less, or --support 60 or more$/);
    assertTrainRefused(['--algo', 'maml', '--support-grid', '--query-grid'], /'queryGrid' \(--query-grid\) support and query would be the same grid points: support 10 \(the default\), query 10 \(the default\); give another --query$/);
    assertTrainRefused(['--algo', 'maml', '--support-grid', '--query-grid', '--support', '5', '--query', '5'], /same grid points: support 5, query 5; give another --query$/);
    assertTrainRefused(['--support', '1e7', '--hidden', '8000,8000'], /'support' \(--support\) meta-batch x support is 25 \(the default\) x 10000000, more than 16777216/, /'hidden' \(--hidden\) tasks \(meta-batch or val-tasks\) x parameters is 100 \(the default\) x 64032001/);
    assertTrainRefused(['--algo', 'daml', '--phases', '0,1,2'], /daml needs one source range per phase: 3 phase\(s\) in --phases 0,1,2, 2 range\(s\) in --source-ranges 0.7854,1.5708,-1.5708,-0.7854 \(daml's default\)$/);
    assertTrainRefused(['--hidden', '70000', '--meta-batch', '1e6'], /'metaBatch' \(--meta-batch\) must be at most 100000/, /'hidden'\[0\] \(--hidden\) must be at most 65536/);
    assertEvalRefused(['--samples', '1e11'], /'samples' \(--samples\) tasks x samples is 20000 \(the default\) x 100000000000/);
    assertEvalRefused(['--samples', '1e4', '--tasks', '1e4'], /tasks x samples is 10000 x 10000, more/);
  });
});

describe('bad input: config files', () => {
  const config = (name: string, text: string) => {
    writeFileSync(join(scratch, name), text);
    return name;
  };

  it('missing, a folder, not JSON, not an object: the message names the file', () => {
    assertTrainRefused(['--config', 'missing.json'], /config missing.json: cannot read it: no such file or directory \(ENOENT\)/);
    mkdirSync(join(scratch, 'folder.json'));
    assertTrainRefused(['--config', 'folder.json'], /config folder.json: cannot read it: is a directory \(EISDIR\)/);
    assertTrainRefused(['--config', config('broken.json', '{"algo": "maml",')], /config broken.json: not valid JSON/);
    assertTrainRefused(['--config', config('list.json', '[1, 2]')], /config list.json: expected a JSON object of options/);
  });

  it('wrong types and unknown keys: the message names the key and the file, every problem on one line', () => {
    assertTrainRefused(
      ['--config', config('types.json', '{"metaBatch": "ten", "supportGrid": "yes", "metaBach": 5}')],
      /^error: config types.json: /,
      /'metaBatch' \(--meta-batch\) expected a number/,
      /'supportGrid' \(--support-grid\) Expected boolean, received string/,
      /unknown key 'metaBach'/,
    );
    assertTrainRefused(['--config', config('two.json', '{"innerLr": -1, "hidden": [40, 0]}')], /config two.json: 'innerLr' \(--inner-lr\) must be greater than 0; 'hidden'\[1\] \(--hidden\) must be at least 1$/);
    // valid on its own, wrong with the algorithm's defaults: still names the file
    assertTrainRefused(['--config', config('k.json', '{"algo": "reptile", "support": 5}')], /options \(with config k.json\): 'innerBatch' \(--inner-batch\) inner-batch 10 \(reptile's default\) is larger than support 5/);
  });
});

describe('bad input: checkpoints and --resume', () => {
  // a small finished run to damage copy by copy: 1-8-1 MLP, 25 parameters, 100 bytes of weights
  const good = join(scratch, 'good');
  before(() => {
    const r = cli('train', '--algo', 'reptile', '--hidden', '8', '--activation', 'relu', '--meta-batch', '2', '--meta-lr-final', 'none', '--iterations', '20', '--backend', 'cpu', '--out-dir', scratch, '--name', 'good', '--quiet');
    assert.equal(r.code, 0, r.stderr);
  });
  let copies = 0;
  /** A copy of the good run, changed by `damage`. */
  const damaged = (damage: (f: ReturnType<typeof runFiles>) => void): string => {
    const dir = join(scratch, `damaged-${++copies}`);
    cpSync(good, dir, { recursive: true });
    damage(runFiles(dir));
    return dir;
  };
  const metadata = (j: any) => j.userDefinedMetadata.metalearn;
  const editJson = (path: string, edit: (json: any) => void) => {
    const json = JSON.parse(readFileSync(path, 'utf8'));
    edit(json);
    writeFileSync(path, JSON.stringify(json));
  };
  /** eval and resume of a damaged run are refused and leave its files as they were. */
  const assertCheckpointRefused = (dir: string, command: 'eval' | 'resume', message: RegExp) => {
    const before = snapshot(dir);
    const args = command === 'eval' ? ['eval', '--checkpoint', dir, '--tasks', '5'] : ['train', '--resume', dir];
    assertRefused(cli(...args, '--backend', 'cpu'), 2, message);
    assert.deepEqual(snapshot(dir), before, 'the checkpoint was changed');
  };

  it('missing: no folder, or a folder that holds no run', () => {
    assertRefused(cli('eval', '--checkpoint', 'nowhere'), 2, /checkpoint nowhere: no such directory/);
    assertRefused(cli('train', '--resume', 'nowhere'), 2, /cannot resume nowhere: no model.json/);
    mkdirSync(join(scratch, 'empty'));
    assertRefused(cli('eval', '--checkpoint', 'empty'), 2, /checkpoint empty: no model.json \(is it a run directory\?\)/);
  });

  it('truncated: the weights file shorter than the manifest, the state file cut short', () => {
    const short = damaged((f) => writeFileSync(f.weights, readFileSync(f.weights).subarray(0, 60)));
    assertCheckpointRefused(short, 'eval', /weights-0000020.bin: 60 bytes, the manifest needs 100 \(truncated or from another model\)/);
    const cut = damaged((f) => writeFileSync(f.state, readFileSync(f.state).subarray(0, 50)));
    assertCheckpointRefused(cut, 'resume', /state-0000020.json is not valid JSON/);
  });

  it('shapes that do not match the topology, in the manifest or in the config', () => {
    const manifest = damaged((f) => editJson(f.model, (j) => (j.weightsManifest[0].weights[0].shape = [1, 9])));
    assertCheckpointRefused(manifest, 'eval', /weight dense_1\/kernel has shape \[1,9\] \(float32\), the topology needs \[1,8\] float32/);
    const config = damaged((f) => editJson(f.model, (j) => (metadata(j).config.hidden = [9])));
    assertCheckpointRefused(config, 'resume', /its config \(hidden 9, relu\) does not match its topology/);
  });

  it('from a newer format version, or from metalearn 0.1', () => {
    const model = damaged((f) => editJson(f.model, (j) => (metadata(j).formatVersion = 3)));
    assertCheckpointRefused(model, 'eval', /written by a newer metalearn \(format 3; this metalearn reads format 2\): upgrade metalearn/);
    const old = damaged((f) => editJson(f.model, (j) => (metadata(j).formatVersion = 1)));
    assertCheckpointRefused(old, 'resume', /written in format 1 by metalearn .*: convert it with `npx metalearn upgrade .*damaged-\d+`/);
  });

  it('claiming absurd sizes: refused from the JSON, before the weights are read or allocated', () => {
    const wide = damaged((f) => editJson(f.model, (j) => (j.modelTopology.config.layers[0].config.units = 1e12)));
    assertCheckpointRefused(wide, 'eval', /layer 1 has an invalid width 1000000000000/);
    // a consistent topology and manifest of 3.6e9 parameters beside a 100-byte weights.bin
    const huge = damaged((f) => writeFileSync(f.model, JSON.stringify(modelJson([60000, 60000], 'relu', 'weights.bin'))));
    assertCheckpointRefused(huge, 'eval', /3600240001 parameters is more than this tool accepts \(67108864\)/);
    const config = damaged((f) => editJson(f.model, (j) => (metadata(j).config.hidden = [1e9, 1e9])));
    assertCheckpointRefused(config, 'resume', /'hidden'\[0\] \(--hidden\) must be at most 65536/);
  });

  it('a state file damaged elsewhere: optimizer, random generator', () => {
    const optimizer = damaged((f) => editJson(f.state, (j) => (j.optimizer = null)));
    assertCheckpointRefused(optimizer, 'resume', /state-0000020.json: 'optimizer': Expected object, received null \(damaged or not written by metalearn\)/);
    const rng = damaged((f) => editJson(f.state, (j) => j.rng.S.pop()));
    assertCheckpointRefused(rng, 'resume', /'rng.S': Array must contain exactly 256 element/);
  });

  it('--resume with settings that contradict the run: refused, naming every difference', () => {
    const resumeRefused = (args: string[], message: RegExp) => {
      const before = snapshot(good);
      assertRefused(cli('train', '--resume', good, '--backend', 'cpu', ...args), 2, message);
      assert.deepEqual(snapshot(good), before, 'the run was changed');
    };
    resumeRefused(['--algo', 'maml'], /--resume .*good: the run was trained with algo = "reptile", not "maml": start a new run \(--name\) to change it$/);
    resumeRefused(['--hidden', '16'], /hidden = \[8\], not \[16\]/);
    writeFileSync(join(scratch, 'other.json'), JSON.stringify({ hidden: [8, 8], activation: 'tanh' }));
    resumeRefused(['--config', 'other.json'], /hidden = \[8\], not \[8,8\]; activation = "relu", not "tanh": start a new run \(--name\) to change them/);
    resumeRefused(['--force'], /--resume continues its own directory: drop --force \(or give --name to continue it in another\)/);
  });
});

describe('--resume may change what does not change the run', () => {
  it('--resume may extend a run: --iterations beyond the saved ones continues it', () => {
    const dir = join(scratch, 'extended');
    const args = ['--algo', 'reptile', '--hidden', '8', '--meta-batch', '2', '--meta-lr-final', 'none', '--backend', 'cpu', '--quiet'];
    assert.equal(cli('train', ...args, '--iterations', '20', '--out-dir', scratch, '--name', 'extended').code, 0);
    const r = cli('train', '--resume', dir, '--iterations', '30', '--log-every', '5', '--backend', 'cpu', '--quiet');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(runFiles(dir).model, 'utf8')).userDefinedMetadata.metalearn.iteration, 30);
    const curve = JSON.parse(readFileSync(runFiles(dir).curve, 'utf8'));
    assert.deepEqual(curve.train.map((p: { iteration: number }) => p.iteration), [10, 20, 25, 30]);
  });
});

describe('bad input: output directories and backends', () => {
  it('a directory that holds another run, or other files: refused, nothing overwritten', () => {
    const args = ['train', '--algo', 'random', '--backend', 'cpu', '--out-dir', scratch, '--quiet'];
    assert.equal(cli(...args, '--name', 'taken').code, 0);
    const before = snapshot(join(scratch, 'taken'));
    assertRefused(cli(...args, '--name', 'taken'), 2, /taken already holds a run: pass --resume .*taken to continue it, --force to replace it, or --name for another directory/);
    assert.deepEqual(snapshot(join(scratch, 'taken')), before);
    mkdirSync(join(scratch, 'notes'));
    writeFileSync(join(scratch, 'notes', 'todo.txt'), 'mine');
    assertRefused(cli(...args, '--name', 'notes'), 2, /notes is not empty: pass --force to write the run there/);
    assert.deepEqual(readdirSync(join(scratch, 'notes')), ['todo.txt']);
  });

  it('a run directory that cannot be created or written', () => {
    writeFileSync(join(scratch, 'plain-file'), 'not a folder');
    assertTrainRefused(['--out-dir', join(scratch, 'plain-file'), '--name', 'run'], /cannot create run directory .*plain-file\/run: .*plain-file is a file$/);
    assertTrainRefused(['--out-dir', scratch, '--name', 'plain-file'], /cannot create run directory .*plain-file: .*plain-file is a file$/);
    writeFileSync(join(scratch, 'a-file'), '');
    assertEvalRefused(['--out', join(scratch, 'a-file', 'report.json')], /--out .*report.json: cannot create .*a-file: /);
  });

  it('a read-only file system: refused before training starts', (t) => {
    const ro = join(scratch, 'read-only');
    if (!mountTmpfs(t, ro, 'ro,size=64k', 'a read-only tmpfs')) return;
    try {
      assertTrainRefused(['--out-dir', ro, '--algo', 'random'], /cannot write to run directory .*read-only\/random-0: read-only file system \(EROFS\)/);
    } finally {
      execFileSync('umount', [ro]);
    }
  });

  it('--backend tensorflow or cuda without its package: one line saying what to install, exit 2', (t) => {
    const installed = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].filter((pkg) => {
      try {
        createRequire(import.meta.url).resolve(pkg);
        return true;
      } catch {
        return false;
      }
    });
    if (installed.length > 0) return t.skip(`${installed.join(' and ')} installed here`);
    assertTrainRefused(['--backend', 'tensorflow'], /--backend tensorflow: @tensorflow\/tfjs-node did not load: .*npm install @tensorflow\/tfjs-node/);
    assertTrainRefused(['--backend', 'cuda'], /--backend cuda: @tensorflow\/tfjs-node-gpu did not load: .*CUDA 11.2 and cuDNN 8.1/);
  });
});
