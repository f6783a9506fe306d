// The layers of src/ (.dependency-cruiser.cjs, docs/architecture.md): no import cycle, no module
// importing a layer above its own, the page's code reaching no Node module. Checked by
// dependency-cruiser on the source, and shown to catch a cycle, a back-arrow and a Node import
// added to a copy of it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');

/** dependency-cruiser's verdict on the src/ of a folder: its exit code and the rules it names as broken. */
function cruise(folder: string): { code: number | null; broken: string[]; output: string } {
  const r = spawnSync(depcruise, ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: folder, encoding: 'utf8' });
  const output = `${r.stdout}${r.stderr}`;
  return { code: r.status, broken: [...new Set([...output.matchAll(/error ([\w-]+):/g)].map((m) => m[1]))].sort(), output };
}

describe('architecture: the layers of src/', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'metalearn-layers-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('no import cycle, no import of a layer above, no Node module reached by the page', () => {
    const { code, output } = cruise(root);
    assert.equal(code, 0, output);
  });

  it('a cycle, a back-arrow, an import of the entry and a Node import in the page each fail the check', () => {
    for (const name of ['src', 'tsconfig.json', '.dependency-cruiser.cjs']) cpSync(join(root, name), join(scratch, name), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
    appendFileSync(join(scratch, 'src/core/rng.ts'), "\nimport './tasks.js'; // tasks.ts imports rng.ts: a cycle\n");
    appendFileSync(join(scratch, 'src/core/model.ts'), "\nimport '../config/config.js'; // core reaching up to config\n");
    appendFileSync(join(scratch, 'src/train/loop.ts'), "\nimport '../index.js';\n");
    appendFileSync(join(scratch, 'src/eval/checkpoints.ts'), "\nimport '../base/version.js'; // node:module, reached from the page through eval/checkpoints.ts\n");
    const { code, broken, output } = cruise(scratch);
    assert.notEqual(code, 0, output);
    assert.deepEqual(broken, ['core-imports-no-layer-above', 'no-cycle', 'nothing-imports-the-entry', 'the-page-runs-in-a-browser'], output);
  });
});
