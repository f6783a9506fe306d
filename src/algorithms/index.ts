// The algorithms, registered: adding one is its file and a line in LEARNERS. Their own options, the
// config's types and --help follow from here.
import type { OptionTable } from '../options/option.js';
import { familyInputs } from '../tasks/index.js';
import { anil } from './anil.js';
import { cavia } from './cavia.js';
import { daml } from './daml.js';
import { fomaml } from './fomaml.js';
import type { LearnerConfig, MetaLearner } from './learner.js';
import { maml } from './maml.js';
import { mamlPlusPlus } from './maml-plus-plus.js';
import { metaSgd } from './meta-sgd.js';
import { random } from './random.js';
import { reptile } from './reptile.js';
import { transfer } from './transfer.js';

export const LEARNERS = { maml, fomaml, reptile, transfer, random, 'meta-sgd': metaSgd, daml, anil, cavia, 'maml++': mamlPlusPlus };
export type Algorithm = keyof typeof LEARNERS;
export const ALGORITHMS = Object.keys(LEARNERS) as [Algorithm, ...Algorithm[]];

type OwnOptions<L> = L extends MetaLearner<infer Own> ? Own : never;
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
/** Every algorithm's own options, in one table. */
export type AlgorithmOptions = Intersection<OwnOptions<(typeof LEARNERS)[Algorithm]>>;

/** The algorithms' own options: each declared once in its file (an option two algorithms share is the same declaration, e.g. maml's --gradients). */
export const ALGORITHM_OPTIONS = Object.values(LEARNERS).reduce<OptionTable>((table, spec) => {
  for (const [key, option] of Object.entries((spec as MetaLearner<OptionTable>).options ?? {})) {
    if (key in table && table[key] !== option) throw new Error(`internal error: two algorithms declare the option '${key}' differently`);
    table[key] = option;
  }
  return table;
}, {}) as AlgorithmOptions;

/** A learner as the config sees it: typed over the whole config (each reads its own part). */
export const learnerOf = (algo: Algorithm) => LEARNERS[algo] as unknown as MetaLearner<AlgorithmOptions>;
/** The whole config of a run, as the learners see it: the shared options and every algorithm's own. */
export type AnyLearnerConfig = LearnerConfig<AlgorithmOptions>;

/** Whether an algorithm trains at all (random does not). */
export const trains = (algo: Algorithm): boolean => learnerOf(algo).metaGradient !== undefined;
/** Whether it samples query points (the data of the outer loss). */
export const usesQuery = (algo: Algorithm): boolean => learnerOf(algo).uses.includes('query');
/** The inputs of a config's MLP: the task family's d inputs x, then its learner's context inputs (CAVIA's). */
export const inputWidth = (config: AnyLearnerConfig & { algo: Algorithm }): number =>
  familyInputs(config) + (learnerOf(config.algo).contextInputs?.(config) ?? 0);
