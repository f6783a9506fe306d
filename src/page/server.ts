// The server of `metalearn serve`: Node's http, read only, serving the page (src/page/: its HTML, CSS and the stub of Node's modules), the page's own
// code (dist/src, the library's browser-safe modules among it), the few third-party modules it
// imports (an allow-list), the run directories under the user's checkpoints folder (/checkpoints/), and
// those shipped with metalearn (/shipped/). Every path is
// confined to its root: a request path is split into segments, each decoded once and refused if it
// is empty, `.`, `..` or holds a separator; the file found is followed through symlinks and refused
// unless it is still inside its root.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder (dist/src/page/server.js is three levels below it). */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** The third-party packages the page imports, served from wherever Node resolves them (node_modules, hoisted or not). */
const PAGE_PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'zod'];

/** A URL prefix and the folder it serves. */
interface Mount {
  prefix: string[];
  root: string;
  /** Files of the folder it may serve (default: all). */
  allow?: (name: string) => boolean;
  /** Files that change while the page is open (a run being trained): never cached. */
  live?: boolean;
}

export interface PageServerOptions {
  /** The folder of the user's run directories, which the page lists first. */
  checkpoints: string;
  /** The folder of the runs shipped with metalearn, which the page lists after them, grouped by config. */
  shipped?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The decoded segments of a request path; refuses traversal however it is spelled. */
function pathSegments(rawUrl: string): string[] {
  const path = rawUrl.split(/[?#]/)[0];
  if (!path.startsWith('/')) throw new HttpError(400, 'the path must start with /');
  const raw = path.slice(1).split('/');
  const segments = raw.map((s) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      throw new HttpError(400, `bad percent-encoding in ${JSON.stringify(s)}`);
    }
    if (decoded === '.' || decoded === '..' || /[/\\\0]/.test(decoded)) throw new HttpError(403, `path segment ${JSON.stringify(decoded)} is not allowed`);
    return decoded;
  });
  // a trailing slash names a folder: the segment list ends with ''
  if (segments.slice(0, -1).includes('')) throw new HttpError(403, 'empty path segments are not allowed');
  return segments;
}

/** The real path of `segments` below `root`, refused if it leaves root (a symlink out) or is not a file. */
async function confinedFile(root: string, segments: string[]): Promise<string> {
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(join(root, ...segments));
  } catch {
    throw new HttpError(404, `no such file: ${segments.join('/')}`);
  }
  if (!real.startsWith(realRoot + sep)) throw new HttpError(403, `${segments.join('/')} leads outside its folder`);
  if (!(await stat(real)).isFile()) throw new HttpError(404, `${segments.join('/')} is not a file`);
  return real;
}

/** The run directories of a checkpoints folder: the names of its subfolders holding a model.json (those whose model.json is missing too, with the reason, so the page can say so). */
async function listRuns(folder: string): Promise<{ name: string; error?: string }[]> {
  let names: string[];
  try {
    names = (await readdir(folder, { withFileTypes: true })).filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => d.name);
  } catch {
    return [];
  }
  const runs = await Promise.all(
    names.sort().map(async (name) => {
      try {
        await confinedFile(folder, [name, 'model.json']);
        return { name };
      } catch (e) {
        return { name, error: (e as Error).message };
      }
    }),
  );
  return runs.filter((r) => !r.error || !/no such file/.test(r.error));
}

/** The server of the page; call listen() on it. */
export function pageServer(o: PageServerOptions): Server {
  const require = createRequire(import.meta.url);
  const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));
  const mounts: Mount[] = [
    // the page's HTML, CSS and stub module (not its TypeScript source: the page runs dist/src/page/main.js)
    { prefix: ['page'], root: join(PACKAGE_ROOT, 'src', 'page'), allow: (name) => /\.(html|css|js)$/.test(name) },
    // the compiled library and page code, and the kernels' simd.wasm; not the tests
    { prefix: ['dist', 'src'], root: join(PACKAGE_ROOT, 'dist', 'src'), allow: (name) => /\.(js|js\.map|wasm)$/.test(name) },
    ...PAGE_PACKAGES.map((name) => ({ prefix: ['node_modules', ...name.split('/')], root: packageDir(name), allow: (file: string) => /\.(js|mjs|wasm|json)$/.test(file) })),
    { prefix: ['checkpoints'], root: o.checkpoints, allow: (name: string) => /\.(json|bin)$/.test(name), live: true },
    ...(o.shipped ? [{ prefix: ['shipped'], root: o.shipped, allow: (name: string) => /\.(json|bin)$/.test(name) }] : []),
  ];

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed: this server is read only`);
    const segments = pathSegments(req.url ?? '/');
    if (segments.length === 1 && segments[0] === '') return send(res, req, join(PACKAGE_ROOT, 'src', 'page', 'index.html'), false);
    if (segments.length === 2 && segments[0] === 'checkpoints' && segments[1] === '') {
      const body = JSON.stringify({ folder: relative(process.cwd(), o.checkpoints) || '.', runs: await listRuns(o.checkpoints), shipped: o.shipped ? await listRuns(o.shipped) : [] });
      res.writeHead(200, { 'Content-Type': CONTENT_TYPES['.json'], 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const mount = mounts.find((m) => m.prefix.every((p, i) => segments[i] === p) && segments.length > m.prefix.length);
    if (!mount) throw new HttpError(404, `not found: ${req.url}`);
    const rest = segments.slice(mount.prefix.length);
    if (!CONTENT_TYPES[extname(rest[rest.length - 1])] || (mount.allow && !mount.allow(rest[rest.length - 1]))) throw new HttpError(404, `not served: ${req.url}`);
    await send(res, req, await confinedFile(mount.root, rest), Boolean(mount.live));
  }

  return createServer((req, res) => {
    respond(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(e instanceof Error ? e.message : String(e));
    });
  });
}

async function send(res: ServerResponse, req: IncomingMessage, file: string, live: boolean): Promise<void> {
  const body = await readFile(file);
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'Cache-Control': live ? 'no-store' : 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
