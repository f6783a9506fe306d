// The statistics reported over tasks and over training seeds: means, sample standard deviations
// and 95% intervals.

/** The mean of some numbers and their sample standard deviation (n - 1 in the denominator; 0 for fewer than two). */
export function meanAndSd(values: number[]): { mean: number; sd: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  return { mean, sd: n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0 };
}

/** Statistics of one loss over tasks. Tasks that diverged (a loss not finite, or above the bound) are counted, and left out of the mean. */
export interface Summary {
  /** Tasks. */
  n: number;
  /** Tasks whose loss is not finite or above the bound. */
  diverged: number;
  /** Over the other tasks (NaN when all diverged). */
  mean: number;
  std: number;
  /** Half-width of the 95% confidence interval of the mean (normal approximation, 1.96 sd / sqrt(n)). */
  ci95: number;
  /** Over all tasks, the diverged ones counted as larger than any other. */
  median: number;
}

export function summarize(values: ArrayLike<number>, bound = Infinity): Summary {
  const n = values.length;
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(values[i]) && values[i] <= bound) kept.push(values[i]);
  const m = kept.length;
  const { mean, sd } = meanAndSd(kept);
  const sorted = kept.sort((a, b) => a - b);
  const at = (i: number) => (i < m ? sorted[i] : Infinity);
  const median = n === 0 ? NaN : n % 2 ? at((n - 1) / 2) : (at(n / 2 - 1) + at(n / 2)) / 2;
  return { n, diverged: n - m, mean, std: sd, ci95: m > 1 ? (1.96 * sd) / Math.sqrt(m) : 0, median };
}

/** Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (beyond: 1.96). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean, sd and the half-width of the 95% t-interval of a few numbers (e.g. each seed's mean); the ones not finite are left out and counted. */
export function tInterval(values: number[]): { mean: number; std: number; ci95: number; runs: number; divergedRuns: number } {
  const kept = values.filter(Number.isFinite);
  const n = kept.length;
  const { mean, sd } = meanAndSd(kept);
  return { mean, std: sd, ci95: n > 1 ? ((T95[n - 2] ?? 1.96) * sd) / Math.sqrt(n) : 0, runs: n, divergedRuns: values.length - n };
}
