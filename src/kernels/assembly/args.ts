// The lists of byte offsets and sizes a kernel is called with (kernels/wasm.ts writes them: u32 each).

/** The i-th entry of a list. */
@inline export function word(list: usize, i: usize): usize {
  return <usize>load<u32>(list + (i << 2));
}
