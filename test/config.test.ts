// Options: one schema for config files and flags; every shipped config is valid.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BASE_DEFAULTS, parseNumber, readConfigFile, resolveConfig, UsageError } from '../src/config.js';

const configs = fileURLToPath(new URL('../../configs', import.meta.url));

describe('configs', () => {
  it('configs/default.json holds exactly the built-in defaults', () => {
    assert.deepEqual({ ...resolveConfig(readConfigFile(join(configs, 'default.json')), {}), description: '' }, BASE_DEFAULTS);
    assert.deepEqual(Object.keys(readConfigFile(join(configs, 'default.json'))).sort(), Object.keys(BASE_DEFAULTS).sort());
  });
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
  it('options of one algorithm are refused for the others, and daml needs its phases', () => {
    assert.throws(() => resolveConfig({}, { algo: 'maml', adaptHidden: [8] }), /'adaptHidden' \(--adapt-hidden\) is for daml only/);
    assert.throws(() => resolveConfig({}, { algo: 'daml', phases: null, sourceRanges: null }), /daml needs one source range per phase/);
  });
  it('wrong values are rejected with a message naming the key', () => {
    assert.throws(() => resolveConfig({}, { metaBatch: 0 }), (e: Error) => e instanceof UsageError && /'metaBatch' \(--meta-batch\)/.test(e.message));
    assert.throws(() => resolveConfig({}, { innerLr: -1 }), /'innerLr' \(--inner-lr\) must be greater than 0/);
    assert.throws(() => resolveConfig({}, { xRange: [1, -1] }), /'xRange' \(--x-range\) needs lo < hi/);
    assert.throws(() => resolveConfig({}, { hidden: [40, 2.5] }), /'hidden'\[1\] \(--hidden\) must be a whole number/);
    assert.throws(() => resolveConfig({}, { algo: 'reptile', innerBatch: 60 }), /inner-batch 60 is larger than support 50/);
    assert.throws(() => resolveConfig({}, { bogus: 1 }), /unknown key 'bogus'/);
  });
  it("daml's source domains: read in pairs from a flag, one per phase, for daml only", () => {
    const c = resolveConfig({}, { algo: 'daml', phases: [0, 1, 2], sourceRanges: ['pi/4', 'pi/2', -1, 0, 2, 3] });
    assert.deepEqual(c.sourceRanges, [[Math.PI / 4, Math.PI / 2], [-1, 0], [2, 3]]);
    assert.throws(() => resolveConfig({}, { algo: 'daml', phases: [0, 1, 2] }), /'sourceRanges' \(--source-ranges\) daml needs one source range per phase/);
    assert.throws(() => resolveConfig({}, { algo: 'daml', phases: null }), /one source range per phase/);
    assert.throws(() => resolveConfig({}, { algo: 'daml', sourceRanges: [1, 0, 2, 3] }), /'sourceRanges'\[0\] \(--source-ranges\) needs lo < hi/);
    assert.throws(() => resolveConfig({}, { sourceRanges: [0, 1] }), /'sourceRanges' \(--source-ranges\) is for daml only/);
  });
});
