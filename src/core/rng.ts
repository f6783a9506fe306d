// Seeded random numbers (seedrandom's ARC4) whose state can be saved in a
// checkpoint and restored, so that a resumed run draws the same tasks.
import seedrandom from 'seedrandom';

export type RngState = object;

export class Rng {
  private readonly prng: seedrandom.StatefulPRNG<seedrandom.State.Arc4>;

  constructor(seed: string | number, state?: RngState) {
    this.prng = seedrandom(String(seed), { state: (state as seedrandom.State.Arc4 | undefined) ?? true });
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.prng.double();
  }

  /** Standard normal (Box-Muller: two uniform draws per value). */
  normal(): number {
    const u = 1 - this.prng.double(); // in (0, 1], so the log is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.prng.double());
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.prng.double() * n);
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }

  state(): RngState {
    return this.prng.state();
  }
}
