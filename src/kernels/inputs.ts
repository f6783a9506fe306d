// A kernel's list inputs: TF.js passes a kernel its inputs by name, so a list goes as prefix0,
// prefix1, ... The names are cached: a fused kernel runs thousands of times a second and building
// them showed in profiles.
import type { NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

const names = new Map<string, string[]>();

function inputNames(prefix: string, count: number): string[] {
  let list = names.get(prefix);
  if (!list || list.length < count) names.set(prefix, (list = Array.from({ length: Math.max(count, 2 * (list?.length ?? 8)) }, (_, i) => `${prefix}${i}`)));
  return list;
}

/** Adds tensors to a kernel's inputs as prefix0, prefix1, ... */
export function putInputs<T>(into: Record<string, T>, prefix: string, tensors: T[]): Record<string, T> {
  const keys = inputNames(prefix, tensors.length);
  for (let i = 0; i < tensors.length; i++) into[keys[i]] = tensors[i];
  return into;
}

/** A kernel's inputs prefix0 .. prefix{count - 1}. */
export function getInputs(inputs: NamedTensorInfoMap, prefix: string, count: number): TensorInfo[] {
  const keys = inputNames(prefix, count);
  const out: TensorInfo[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = inputs[keys[i]]!;
  return out;
}
