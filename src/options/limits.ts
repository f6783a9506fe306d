// Sizes beyond which an option or a checkpoint is refused before anything is allocated.

/** Units of one layer. */
export const MAX_UNITS = 1 << 16;
/** Parameters of one network. */
export const MAX_PARAMS = 1 << 26;
/** Tasks of a meta-batch, a validation set or an evaluation. */
export const MAX_TASKS = 100_000;
/** Tasks times points per task in one batch of sampled points. */
export const MAX_POINTS = 1 << 24;
/** Tasks times parameters: the per-task copies of the weights that adaptation works on. */
export const MAX_TASK_WEIGHTS = 1 << 28;
