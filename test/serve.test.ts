// metalearn serve: the server's confinement and content types over raw HTTP; then the page in a real
// browser (Debian's chromium, driven by playwright-core), whose per-update losses must equal what
// `metalearn eval --wave --points` computes for the same clicked points.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { pageServer } from '../src/page/server.js';
import type { EvalReport } from '../src/eval/report.js';
import { runCli, runFiles, startCli } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const committed = fileURLToPath(new URL('../../checkpoints/shipped/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'metalearn-serve-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * The first shipped run (by name) of an algorithm: on the MAML paper's task family (A in
 * [0.1, 5], phase in [0, pi], x in [-5, 5], w = 1), or daml on its own. Chosen by what its
 * model.json says, not by name: runs are renamed as experiments are re-run.
 */
function committedRun(algo: string): string {
  const paper = JSON.stringify([[0.1, 5], [0, Math.PI], null, [1, 1], [-5, 5]]);
  const name = readdirSync(committed)
    .sort()
    .find((dir) => {
      const model = join(committed, dir, 'model.json');
      if (!existsSync(model)) return false;
      const c = JSON.parse(readFileSync(model, 'utf8')).userDefinedMetadata?.metalearn?.config;
      return c?.algo === algo && (algo === 'daml' || JSON.stringify([c.amplitude, c.phase, c.phases ?? null, c.frequency ?? [1, 1], c.xRange]) === paper);
    });
  assert.ok(name, `no committed ${algo} run under ${committed}`);
  return join(committed, name);
}

/** A GET (or another method) of a raw path, sent as written (no client-side normalisation of .. or %2e). */
function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('serve: the server', () => {
  const runs = join(scratch, 'runs');
  let server: Server;
  let port: number;
  before(async () => {
    mkdirSync(join(scratch, 'secret'));
    writeFileSync(join(scratch, 'secret', 'model.json'), '{"secret": true}');
    cpSync(committedRun('transfer'), join(runs, 'a'), { recursive: true });
    symlinkSync(join(scratch, 'secret'), join(runs, 'out')); // a run directory that is a symlink out
    symlinkSync(join(scratch, 'secret', 'model.json'), join(runs, 'a', 'leak.json')); // a file that is one
    server = pageServer({ checkpoints: runs, shipped: committed });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  it('serves the page, its modules, the wasm binaries and the run files, each with its content type', async () => {
    const files = runFiles(join(runs, 'a'));
    const cases: [string, RegExp][] = [
      ['/', /^text\/html/],
      ['/dist/src/page/main.js', /^text\/javascript/],
      ['/page/style.css', /^text\/css/],
      ['/page/no-node.js', /^text\/javascript/],
      ['/dist/src/eval/checkpoints.js', /^text\/javascript/],
      ['/dist/src/page/vendor/seedrandom.js', /^text\/javascript/],
      ['/dist/src/kernels/simd.wasm', /^application\/wasm$/],
      ['/node_modules/@tensorflow/tfjs/dist/tf.fesm.js', /^text\/javascript/],
      ['/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm', /^application\/wasm$/],
      ['/node_modules/zod/index.js', /^text\/javascript/],
      ['/checkpoints/a/model.json', /^application\/json/],
      [`/checkpoints/a/${files.weights.split('/').pop()}`, /^application\/octet-stream$/],
    ];
    for (const [path, type] of cases) {
      const r = await get(port, path);
      assert.equal(r.status, 200, `${path}: ${r.body}`);
      assert.match(r.type, type, path);
    }
    assert.deepEqual((await get(port, '/checkpoints/a/model.json')).body, readFileSync(files.model));
    const listing = JSON.parse((await get(port, '/checkpoints/')).body.toString()) as { runs: { name: string; error?: string }[]; shipped: { name: string }[] };
    assert.deepEqual(listing.runs.find((r) => r.name === 'a'), { name: 'a' });
    // the shipped runs, apart: listed after the user's and served under /shipped/
    const shipped = readdirSync(committed).sort();
    assert.deepEqual(listing.shipped.map((r) => r.name), shipped);
    const first = await get(port, `/shipped/${shipped[0]}/model.json`);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, readFileSync(join(committed, shipped[0], 'model.json')));
    assert.match(listing.runs.find((r) => r.name === 'out')?.error ?? '', /outside its folder/, 'a run directory linking out is listed as refused');
  });

  it('refuses traversal however it is spelled, symlinks out of checkpoints/, files it does not serve, and writes', async () => {
    const refused: [string, number][] = [
      ['/checkpoints/../package.json', 403],
      ['/checkpoints/%2e%2e/package.json', 403],
      ['/checkpoints/%2E%2E/%2E%2E/package.json', 403],
      ['/checkpoints/a%2f..%2f..%2fpackage.json', 403],
      ['/checkpoints/a/..%5c..%5cpackage.json', 403],
      ['/dist/src/../../package.json', 403],
      ['/checkpoints//a/model.json', 403],
      ['/checkpoints/out/model.json', 403],
      ['/checkpoints/a/leak.json', 403],
      ['/checkpoints/a/missing.json', 404],
      ['/checkpoints/a', 404],
      ['/dist/test/serve.test.js', 404],
      ['/page/main.ts', 404],
      ['/node_modules/chalk/package.json', 404],
      ['/package.json', 404],
      ['/checkpoints/%zz', 400],
    ];
    for (const [path, status] of refused) {
      const r = await get(port, path);
      assert.equal(r.status, status, `${path}: ${r.status} ${r.body}`);
      assert.doesNotMatch(r.body.toString(), /secret|"name": "metalearn"/, path);
    }
    for (const method of ['POST', 'PUT', 'DELETE']) assert.equal((await get(port, '/checkpoints/a/model.json', method)).status, 405, method);
  });

  it('the command: its default port and host in --help, a bad --port refused', () => {
    const help = runCli(scratch, 'serve', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /default: 8420/);
    assert.match(help.stdout, /default: 127\.0\.0\.1/);
    const bad = runCli(scratch, 'serve', '--port', 'http');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--port: expected a whole number from 0 to 65535, not 'http'/);
  });
});

interface PageResult {
  adaptation: string;
  losses: number[];
}

describe('serve: the page in a browser', { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (apt-get install chromium): the browser test cannot run here` }, () => {
  const runs = join(scratch, 'page-runs');
  let cli: ChildProcess;
  let browser: BrowserContext;
  let page: Page;
  let url: string;
  before(async () => {
    // each committed run copied under its algorithm's name; two damaged copies
    for (const algo of ['maml', 'reptile', 'transfer', 'meta-sgd', 'daml']) cpSync(committedRun(algo), join(runs, algo), { recursive: true });
    cpSync(committedRun('transfer'), join(runs, 'truncated'), { recursive: true });
    truncateSync(runFiles(join(runs, 'truncated')).weights, 100);
    cpSync(committedRun('transfer'), join(runs, 'weightless'), { recursive: true });
    rmSync(runFiles(join(runs, 'weightless')).weights);
    cli = startCli(scratch, 'serve', '--port', '0', '--checkpoints', runs);
    url = await new Promise<string>((done, fail) => {
      let out = '';
      cli.stdout!.on('data', (c: Buffer) => {
        out += c;
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) done(m[0]);
      });
      cli.on('exit', (code) => fail(new Error(`serve exited with ${code}: ${out}`)));
    });
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'metalearn-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      viewport: { width: 1400, height: 1000 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  });
  after(async () => {
    await browser?.close();
    cli?.kill('SIGTERM');
  });

  const results = () => page.evaluate(() => Object.fromEntries([...(window as any).metalearn.state.results].map(([name, r]: [string, any]) => [name, { adaptation: r.adaptation, losses: r.byUpdate.map((s: any) => s.mean) }]))) as Promise<Record<string, PageResult>>;
  const pageState = () => page.evaluate(() => ({ ...(window as any).metalearn.state, runs: undefined, results: undefined })) as Promise<{ points: number[]; xRange: [number, number]; backend: string; wave: { amplitude: number; phase: number; frequency: number }; updates: number; computed: number; selected: string[] }>;

  /** Clicks the wave panel at these x (the page rounds a click to 0.01; a click on a point removes it); returns the points the page then holds. */
  async function clickPoints(xs: number[], expected: number): Promise<number[]> {
    const canvas = page.locator('#panels canvas').first();
    const box = (await canvas.boundingBox())!;
    const { xRange } = await pageState();
    // the plot area runs from 44 px to width - 8 px (src/page/canvas.ts frame())
    for (const x of xs) await canvas.click({ position: { x: 44 + ((x - xRange[0]) / (xRange[1] - xRange[0])) * (box.width - 52), y: box.height / 3 } });
    await page.waitForFunction((n) => (window as any).metalearn.state.points.length === n, expected);
    return (await pageState()).points;
  }

  /** eval's per-update means for these checkpoints, wave and points, on the page's backend. */
  function evalLosses(names: string[], s: Awaited<ReturnType<typeof pageState>>): Record<string, number[]> {
    const out = join(scratch, `eval-${names.join('+')}.json`);
    const { amplitude, phase, frequency } = s.wave;
    const args = ['eval', ...names.flatMap((n) => ['--checkpoint', join(runs, n)]), '--wave', `${amplitude},${phase},${frequency}`, '--points', s.points.join(','), `--x-range=${s.xRange.join(',')}`, '--updates', String(s.updates), '--backend', s.backend, '--out', out, '--quiet'];
    const r = runCli(scratch, ...args);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
    return Object.fromEntries(report.results.map((res, i) => [names[i], res.byUpdate.map((u) => u.mean)]));
  }

  function assertAgree(fromPage: Record<string, PageResult>, fromEval: Record<string, number[]>): void {
    for (const [name, expected] of Object.entries(fromEval)) {
      const got = fromPage[name].losses;
      assert.equal(got.length, expected.length, name);
      got.forEach((v, u) => assert.ok(Math.abs(v - expected[u]) <= 1e-5 * Math.max(1, expected[u]), `${name}, update ${u}: page ${v}, eval ${expected[u]}`));
    }
  }

  it('lists the runs with algorithm and config, and fine-tunes maml, reptile, transfer and meta-sgd on five clicked points as eval does', async () => {
    await page.goto(url);
    await page.waitForFunction(() => (window as any).metalearn?.ready);
    assert.match(await page.locator('#runtime').textContent() ?? '', /TensorFlow\.js 4\.22\.0 on (wasm|cpu)/);
    const list = (await page.locator('#runs').textContent()) ?? '';
    for (const algo of ['maml', 'reptile', 'transfer', 'meta-sgd', 'daml']) assert.match(list, new RegExp(`${algo}\\s*${algo}, 1-[\\d-]+-1 (relu|tanh), K=\\d+, inner lr [\\d.]+ x\\d+, iteration \\d+`));
    // the user's runs first, then the shipped ones grouped by config, their seeds folded together
    assert.ok(list.indexOf('yours, in') < list.indexOf('shipped with metalearn'), list.slice(0, 300));
    assert.match(list, /shipped with metalearn[^]*maml-paper-k5 \(3 seeds\)/);
    assert.equal(await page.locator('#runs details').count(), new Set(readdirSync(committed).map((n) => n.replace(/-\d+$/, ''))).size);
    assert.deepEqual((await pageState()).selected, ['maml', 'reptile', 'transfer'], "a new page compares maml, reptile and transfer of one task family, the user's own where they have them");
    const chosen = ['maml', 'reptile', 'transfer', 'meta-sgd'];
    for (const name of chosen) await page.locator(`#runs input[value="${name}"]`).check();
    await page.waitForFunction((n) => (window as any).metalearn.state.results.size === n, chosen.length);
    const points = await clickPoints([0.6, 1.5, 2.5, 3.4, 4.4], 5); // the right half of the wave
    assert.equal(points.length, 5);
    assert.ok(points.every((x) => x > 0), `${points}`);
    const fromPage = await results();
    assert.deepEqual(Object.values(fromPage).map((r) => r.adaptation), ['sgd', 'sgd', 'sgd', 'learned rates']);
    assert.ok(fromPage.maml.losses[10] < fromPage.transfer.losses[10] / 2, 'maml adapts, transfer hardly');
    assertAgree(fromPage, evalLosses(chosen, await pageState()));
    // a clicked point again removes it, and the losses follow
    assert.deepEqual(await clickPoints([points[4]], 4), points.slice(0, 4));
    const four = await pageState();
    assertAgree(await results(), evalLosses(['maml'], four));
  });

  it("fine-tunes daml down its learned loss at unlabeled inputs of its source domains, as eval does, and shows them", async () => {
    for (const name of ['maml', 'reptile', 'transfer', 'meta-sgd']) await page.locator(`#runs input[value="${name}"]`).uncheck();
    await page.locator('#runs input[value="daml"]').check();
    await page.locator('#amplitude').fill('1');
    await page.locator('#phase').fill('3.14');
    await page.waitForFunction(() => (window as any).metalearn.state.wave.phase === 3.14 && (window as any).metalearn.state.results.size === 1);
    const s = await pageState();
    const config = JSON.parse(readFileSync(join(runs, 'daml', 'model.json'), 'utf8')).userDefinedMetadata.metalearn.config as { xRange: number[]; phases: number[]; sourceRanges: number[][] };
    assert.deepEqual(s.xRange, config.xRange, "daml's own x range");
    const fromPage = await results();
    assert.equal(fromPage.daml.adaptation, 'learned loss');
    assertAgree(fromPage, evalLosses(['daml'], s));
    const inputs = await page.evaluate(() => (window as any).metalearn.state.results.get('daml').unlabeledByUpdate as number[][]);
    assert.equal(inputs.length, s.updates);
    // the source domain of its phase nearest 3.14 ([-pi/2, -pi/4] for the PyTorch post's phase pi)
    const nearest = config.phases.reduce((best, p, i) => (Math.abs(p - 3.14) < Math.abs(config.phases[best] - 3.14) ? i : best), 0);
    const [lo, hi] = config.sourceRanges[nearest];
    assert.ok(inputs.flat().every((x) => x >= lo && x <= hi), `the source domain [${lo}, ${hi}]: ${inputs.flat()}`);
  });

  it('a damaged or incomplete checkpoint is an error on the page, and the page goes on', async () => {
    await page.locator('#runs input[value="truncated"]').check();
    await page.locator('#runs input[value="weightless"]').check();
    await page.waitForFunction(() => (document.getElementById('runs')!.textContent ?? '').includes('is missing'));
    const list = (await page.locator('#runs').textContent()) ?? '';
    assert.match(list, /checkpoint checkpoints\/truncated: checkpoints\/truncated\/weights-\d+\.bin: 100 bytes, the manifest needs \d+ \(truncated or from another model\)/);
    assert.match(list, /checkpoint checkpoints\/weightless: checkpoints\/weightless\/weights-\d+\.bin is missing \(404/);
    assert.match((await page.locator('#panels').textContent()) ?? '', /100 bytes, the manifest needs/);
    assert.equal((await results()).daml.adaptation, 'learned loss', 'the other run still computes');
  });

  it('follows a run that is still training: a newer checkpoint committed meanwhile is read again, its curve longer', async () => {
    const train = (...args: string[]) => {
      const r = runCli(scratch, 'train', ...args, '--quiet');
      assert.equal(r.code, 0, r.stderr);
    };
    train('--algo', 'maml', '--hidden', '8,8', '--iterations', '20', '--eval-every', '10', '--val-tasks', '20', '--checkpoint-every', '10', '--out-dir', runs, '--name', 'live');
    await page.reload();
    await page.waitForFunction(() => (window as any).metalearn?.ready);
    await page.locator('#runs input[value="live"]').check();
    const curveLength = () => page.evaluate(() => (window as any).metalearn.state.runs.get('live').loaded?.model.curve.validation.length as number | undefined);
    await page.waitForFunction(() => (window as any).metalearn.state.runs.get('live').loaded);
    const before = (await curveLength())!;
    train('--resume', join(runs, 'live'), '--iterations', '40');
    await page.waitForFunction((n) => ((window as any).metalearn.state.runs.get('live').loaded?.model.curve.validation.length ?? 0) > n, before, { timeout: 30000 });
    assert.match((await page.locator('#runs').textContent()) ?? '', /live\s*maml, 1-8-8-1 tanh, K=10, inner lr 0\.01 x1, iteration 40/);
    assert.ok((await results()).live, 'and fine-tuned again');
  });
});
