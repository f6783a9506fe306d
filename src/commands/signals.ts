// Ctrl-C and SIGTERM, as the long-running commands take them: train finishes its iteration and writes a
// checkpoint, train --seeds forwards the signal to each seed's process, serve closes its server.

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit code of a process stopped by a signal, as a shell reports it (128 + the signal's number). */
export const exitCodeOf = (signal: StopSignal): number => (signal === 'SIGINT' ? 130 : 143);

/** Calls handler on every SIGINT and SIGTERM until the returned function is called. */
export function onStopSignals(handler: (signal: StopSignal) => void): () => void {
  const listener = (signal: NodeJS.Signals) => handler(signal as StopSignal);
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}

/** The command that continues a stopped run (on its backend, when one was asked for: a resume on another would not match an uninterrupted run bit for bit). */
export function resumeCommand(runDir: string, backend?: string): string {
  return `npx metalearn train --resume ${runDir}${backend ? ` --backend ${backend}` : ''}`;
}
