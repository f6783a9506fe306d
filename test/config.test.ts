// Options: declared once (shared ones in config.ts, each algorithm's own in its file), one schema
// for config files and flags; an option an algorithm does not read is refused; every shipped config is valid.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ALGORITHMS, LEARNERS } from '../src/algorithms/index.js';
import { readConfigFile } from '../src/config/file.js';
import { defaultsFor, helpFor, resolveConfig, resumeConfig, savedConfig, TRAIN_OPTIONS, usedOptions, usersOf, validateConfig } from '../src/config/config.js';
import { UsageError } from '../src/base/errors.js';
import { parseNumber } from '../src/options/option.js';

const configs = fileURLToPath(new URL('../../configs', import.meta.url));

describe('configs', () => {
  for (const name of readdirSync(configs).filter((f) => f.endsWith('.json'))) {
    it(`${name} is a valid config`, () => {
      const config = resolveConfig(readConfigFile(join(configs, name)), {});
      assert.ok(config.description.length > 0, 'says what it reproduces');
    });
  }
  it('flags override the config file', () => {
    const c = resolveConfig(readConfigFile(join(configs, 'maml-paper.json')), { metaBatch: 5, hidden: [8, 8] });
    assert.equal(c.metaBatch, 5);
    assert.deepEqual(c.hidden, [8, 8]);
    assert.equal(c.iterations, 70000);
  });
  it('algorithm defaults apply under the file and the flags', () => {
    assert.equal(resolveConfig({}, { algo: 'reptile' }).metaLr, 0.1);
    assert.equal(resolveConfig({}, { algo: 'reptile', metaLr: 0.5 }).metaLr, 0.5);
    assert.equal(resolveConfig({ metaLr: 0.2 }, { algo: 'reptile' }).metaLr, 0.2);
  });
  it('numbers may be written with pi', () => {
    assert.equal(parseNumber('pi'), Math.PI);
    assert.equal(parseNumber('2pi'), 2 * Math.PI);
    assert.equal(parseNumber('-pi/2'), -Math.PI / 2);
    assert.equal(parseNumber('0.5*pi'), Math.PI / 2);
    assert.ok(Number.isNaN(parseNumber('')));
    assert.ok(Number.isNaN(parseNumber('0x10')));
    assert.ok(Number.isNaN(parseNumber('3 tasks')));
  });
  it('wrong values are rejected with a message naming the key', () => {
    assert.throws(() => resolveConfig({}, { metaBatch: 0 }), (e: Error) => e instanceof UsageError && /'metaBatch' \(--meta-batch\)/.test(e.message));
    assert.throws(() => resolveConfig({}, { innerLr: -1 }), /'innerLr' \(--inner-lr\) must be greater than 0/);
    assert.throws(() => resolveConfig({}, { xRange: [1, -1] }), /'xRange' \(--x-range\) needs lo < hi/);
    assert.throws(() => resolveConfig({}, { hidden: [40, 2.5] }), /'hidden'\[1\] \(--hidden\) must be a whole number/);
    assert.throws(() => resolveConfig({}, { algo: 'reptile', innerBatch: 60 }), /inner-batch 60 is larger than support 50 \(reptile's default\)/);
    assert.throws(() => resolveConfig({ algo: 'reptile', support: 5 }, {}), /inner-batch 10 \(reptile's default\) is larger than support 5:/, "a config file's value is the user's");
    assert.throws(() => validateConfig({ algo: 'reptile', support: 5, innerBatch: 10 }, 'run'), /inner-batch 10 is larger than support 5:/, "a saved config's values are the run's");
    assert.throws(() => resolveConfig({}, { bogus: 1 }), /unknown key 'bogus'/);
  });
});

describe('which algorithm reads which option', () => {
  it('an option an algorithm does not read is refused, whatever its value (its default too), from flags and from a config file', () => {
    assert.throws(() => resolveConfig({}, { algo: 'maml', adaptHidden: [32, 32] }), /'adaptHidden' \(--adapt-hidden\) is for daml, not maml/);
    assert.throws(() => resolveConfig({}, { algo: 'maml', innerBatch: 10 }), /'innerBatch' \(--inner-batch\) is for reptile, not maml/);
    assert.throws(() => resolveConfig({ query: 10 }, { algo: 'reptile' }), /'query' \(--query\) is for maml, fomaml, meta-sgd, daml, anil, cavia, maml\+\+, not reptile/);
    assert.throws(() => resolveConfig({}, { algo: 'fomaml', gradients: 'autodiff' }), /'gradients' \(--gradients\) is for maml, meta-sgd, maml\+\+, not fomaml/);
    assert.throws(() => resolveConfig({}, { algo: 'random', iterations: 100 }), /'iterations' \(--iterations\) is for .*, not random/);
    assert.throws(() => resolveConfig({}, { algo: 'transfer', innerSteps: 2, query: 3 }), /'innerSteps'.*not transfer; 'query'.*not transfer/);
  });
  it('every algorithm reads the task family, the MLP and validation; only its own options and the shared ones it lists', () => {
    for (const algo of ALGORITHMS) {
      const used = usedOptions(algo);
      for (const key of ['amplitude', 'phase', 'xRange', 'hidden', 'activation', 'innerLr', 'valTasks'] as const) assert.ok(used.includes(key), `${algo} reads ${key}`);
      for (const key of Object.keys(TRAIN_OPTIONS)) {
        if (!used.includes(key as never)) assert.throws(() => resolveConfig({}, { algo, [key]: defaultsFor(algo)[key as keyof typeof TRAIN_OPTIONS] }), /is for/, `${algo} refuses ${key}`);
      }
    }
    assert.deepEqual(usersOf('innerBatch'), ['reptile']);
    assert.match(helpFor('innerBatch'), /for reptile\)$/);
    assert.match(helpFor('metaLr'), /default: 0\.001; reptile: 0\.1/);
  });
  it("a run saves the options its algorithm reads, and only those; they load back to the same config", () => {
    for (const algo of ALGORITHMS) {
      const config = defaultsFor(algo);
      const saved = savedConfig(config);
      assert.deepEqual(Object.keys(saved).sort(), usedOptions(algo).sort());
      assert.deepEqual(validateConfig(JSON.parse(JSON.stringify(saved)), 'test'), config);
    }
    assert.ok(!('innerBatch' in savedConfig(defaultsFor('maml'))));
    assert.ok(LEARNERS.random.metaGradient === undefined && !usedOptions('random').includes('iterations'), 'random trains nothing: one mechanism');
  });
  it("daml's source domains: read in pairs from a flag, one per phase", () => {
    const c = resolveConfig({}, { algo: 'daml', phases: [0, 1, 2], sourceRanges: ['pi/4', 'pi/2', -1, 0, 2, 3] });
    assert.deepEqual(c.sourceRanges, [[Math.PI / 4, Math.PI / 2], [-1, 0], [2, 3]]);
    assert.throws(() => resolveConfig({}, { algo: 'daml', phases: [0, 1, 2] }), /'sourceRanges' \(--source-ranges\) daml needs one source range per phase/);
    assert.throws(() => resolveConfig({}, { algo: 'daml', phases: null }), /one source range per phase/);
    assert.throws(() => resolveConfig({}, { algo: 'daml', sourceRanges: [1, 0, 2, 3] }), /'sourceRanges'\[0\] \(--source-ranges\) needs lo < hi/);
    assert.throws(() => resolveConfig({}, { sourceRanges: [0, 1] }), /'sourceRanges' \(--source-ranges\) is for daml, not maml/);
  });
});

describe('resumeConfig', () => {
  const saved = resolveConfig({}, { algo: 'maml', iterations: 100 });
  it('a resume may extend a run and change how often it logs, validates and checkpoints; nothing else', () => {
    const c = resumeConfig(saved, { iterations: 200, logEvery: 5, evalEvery: 50, checkpointEvery: 10, description: 'longer' }, 'r');
    assert.deepEqual([c.iterations, c.logEvery, c.evalEvery, c.checkpointEvery, c.description], [200, 5, 50, 10, 'longer']);
    assert.equal(resumeConfig(saved, { metaBatch: saved.metaBatch }, 'r').metaBatch, saved.metaBatch, 'the same value is no change');
    assert.throws(() => resumeConfig(saved, { hidden: [8], activation: 'relu' }, '--resume run'), /--resume run: the run was trained with hidden = \[40,40\], not \[8\]; activation = "tanh", not "relu": start a new run \(--name\) to change them/);
    assert.throws(() => resumeConfig(saved, { innerBatch: 5 }, 'r'), /'innerBatch' \(--inner-batch\) is for reptile, not maml/);
  });
  it('an annealed run cannot be extended: its schedule is spread over the iterations it was started with', () => {
    const annealed = { ...saved, metaLrFinal: 0 };
    assert.throws(() => resumeConfig(annealed, { iterations: 200 }, 'r'), /iterations = 100, not 200 \(its outer step size is annealed/);
    assert.equal(resumeConfig(annealed, { iterations: 100, logEvery: 20 }, 'r').logEvery, 20);
  });
});
