// The two kinds of failure the CLI tells apart by exit code (cli.ts: 2 and 1).

/** A usage error: bad flag, bad config, bad checkpoint argument. Exits 2. */
export class UsageError extends Error {}

/** A runtime failure whose message says all there is to say (divergence, a failed write). Exits 1, no stack-trace hint. */
export class RunError extends Error {}
