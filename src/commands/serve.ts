// `metalearn serve`: the interactive page, served on loopback (serve.ts), until Ctrl-C.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../base/errors.js';
import { pageServer } from '../page/server.js';
import { RUNS_FOLDER } from '../run/format.js';
import { SHIPPED_RUNS } from '../run/prepare.js';
import type { Runner } from './output.js';
import { onStopSignals } from './signals.js';

export const DEFAULT_PORT = 8420;

export function registerServe(program: Command, run: Runner): void {
  program
    .command('serve')
    .description('serve a local page where you click points of a wave and watch checkpoints fine-tune on them, in TensorFlow.js in the browser')
    .option('--port <n>', `port to listen on; 0 picks a free one (default: ${DEFAULT_PORT})`)
    .option('--host <address>', 'address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 makes the page and the checkpoints readable from the network)')
    .option('--checkpoints <dir>', `the folder of run directories the page lists (default: ${RUNS_FOLDER})`)
    .action((flags: Record<string, unknown>) => run(() => serveCommand(flags)));
}

function portOf(flag: unknown): number {
  if (flag === undefined) return DEFAULT_PORT;
  const port = Number(flag);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a whole number from 0 to 65535, not '${flag}'`);
  return port;
}

async function serveCommand(flags: Record<string, unknown>): Promise<number> {
  const port = portOf(flags.port);
  const host = flags.host === undefined ? '127.0.0.1' : String(flags.host);
  const checkpoints = resolve(flags.checkpoints === undefined ? RUNS_FOLDER : String(flags.checkpoints));
  if (flags.checkpoints !== undefined && !existsSync(checkpoints)) throw new UsageError(`--checkpoints ${flags.checkpoints}: no such folder`);
  const server = pageServer({ checkpoints, shipped: SHIPPED_RUNS });
  await new Promise<void>((done, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'EADDRINUSE' ? new UsageError(`--port ${port}: already in use on ${host}; pick another with --port (0 picks a free one)`) : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' ? new UsageError(`--host ${host}: not an address of this machine`) : e),
    );
    server.listen(port, host, done);
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  // Ctrl-C is taken before the address is printed: one that follows it at once still closes the server
  const closed = new Promise<void>((done) => {
    const release = onStopSignals(() => {
      release();
      server.close(() => done());
      server.closeAllConnections(); // the page's keep-alive connections
    });
  });
  process.stdout.write(`metalearn serve: http://${shown}:${address.port}/ (runs of ${checkpoints}; Ctrl-C stops)\n`);
  await closed;
  return 0;
}
