// The task families, registered: adding one is its file and a line in FAMILIES. Their own options,
// the config's types and --help follow from here, as the algorithms' do from algorithms/index.ts.
import { z } from 'zod';
import { option, type OptionTable } from '../options/option.js';
import type { SharedConfig } from '../options/shared.js';
import type { FamilyConfig, FamilyPlugin, TaskFamily } from './family.js';
import { data } from './data.js';
import { multimodal } from './multimodal.js';
import { sine } from './sine.js';

export const FAMILIES = { sine, multimodal, data };
export type FamilyName = keyof typeof FAMILIES;
export const FAMILY_NAMES = Object.keys(FAMILIES) as [FamilyName, ...FamilyName[]];

/** The family of a run's tasks: one of the registry's. */
export const FAMILY = option({ flag: '--family <name>', kind: 'enum', help: `task family: ${FAMILY_NAMES.join('|')}`, schema: z.enum(FAMILY_NAMES), default: 'sine' as FamilyName });

type OwnOptions<P> = P extends FamilyPlugin<infer Own> ? Own : never;
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
/** Every family's own options, in one table. */
export type FamilyOptions = Intersection<OwnOptions<(typeof FAMILIES)[FamilyName]>>;

/** The families' own options: each declared once in its file (an option two families share is the same declaration, e.g. --x-range). */
export const FAMILY_OPTIONS = Object.values(FAMILIES).reduce<OptionTable>((table, plugin) => {
  for (const [key, spec] of Object.entries((plugin as FamilyPlugin<OptionTable>).options)) {
    if (key in table && table[key] !== spec) throw new Error(`internal error: two families declare the option '${key}' differently`);
    table[key] = spec;
  }
  return table;
}, {}) as FamilyOptions;

/** A family plug-in as the config sees it: typed over every family's options (each reads its own). */
export const familyPluginOf = (name: FamilyName) => FAMILIES[name] as unknown as FamilyPlugin<FamilyOptions>;

/** Inputs per point, d, of a config's tasks. */
export const familyInputs = (config: SharedConfig): number => familyPluginOf(config.family as FamilyName).inputs(config as never);

/** The task family of a config, and what was loaded for it (a data family's tasks: tasks/load.ts). */
export function familyOf(config: FamilyConfig<FamilyOptions> & { family: string }, loaded?: unknown): TaskFamily {
  return familyPluginOf(config.family as FamilyName).make(config, loaded);
}
