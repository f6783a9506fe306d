// tanh in float32 exactly as TF.js's wasm Tanh kernel computes it: musl's tanhf and expm1f
// (musl libc 1.2, MIT licence; the version emscripten 3.1.28 links into tfjs-backend-wasm 4.22).
// AssemblyScript's own Mathf.tanh ports an older expm1f that rounds differently in 0.5% of
// inputs; the fused kernels must give the built-in's bits.

const LN2_HI = reinterpret<f32>(0x3f317180); // 6.9313812256e-01
const LN2_LO = reinterpret<f32>(0x3717f7d1); // 9.0580006145e-06
const INV_LN2 = reinterpret<f32>(0x3fb8aa3b); // 1.4426950216e+00
const Q1 = reinterpret<f32>(0xbd088868); // -3.3333212137e-2
const Q2 = reinterpret<f32>(0x3acf3010); // 1.5807170421e-3
const O_THRESHOLD = reinterpret<f32>(0x42b17180); // 8.8721679688e+01
const TWO_127 = reinterpret<f32>(0x7f000000); // 0x1p127f

/** e^x - 1 (musl src/math/expm1f.c). */
function expm1f(x: f32): f32 {
  const bits = reinterpret<u32>(x);
  const hx = bits & 0x7fffffff;
  const negative = bits >> 31 != 0;
  if (hx >= 0x4195b844) {
    // |x| >= 27 ln2
    if (hx > 0x7f800000) return x; // NaN
    if (negative) return -1;
    if (x > O_THRESHOLD) return x * TWO_127;
  }
  let k: i32;
  let c: f32 = 0;
  if (hx > 0x3eb17218) {
    // argument reduction: |x| > 0.5 ln2
    let hi: f32, lo: f32;
    if (hx < 0x3f851592) {
      hi = negative ? x + LN2_HI : x - LN2_HI;
      lo = negative ? -LN2_LO : LN2_LO;
      k = negative ? -1 : 1;
    } else {
      k = <i32>(INV_LN2 * x + (negative ? <f32>-0.5 : <f32>0.5));
      const t = <f32>k;
      hi = x - t * LN2_HI;
      lo = t * LN2_LO;
    }
    x = hi - lo;
    c = hi - x - lo;
  } else if (hx < 0x33000000) {
    return x; // |x| < 2^-25
  } else k = 0;
  const hfx: f32 = 0.5 * x;
  const hxs: f32 = x * hfx;
  const r1: f32 = 1 + hxs * (Q1 + hxs * Q2);
  const t: f32 = 3 - r1 * hfx;
  let e: f32 = hxs * ((r1 - t) / (6 - x * t));
  if (k == 0) return x - (x * e - hxs);
  e = x * (e - c) - c;
  e -= hxs;
  if (k == -1) return <f32>0.5 * (x - e) - <f32>0.5;
  if (k == 1) {
    if (x < -0.25) return <f32>-2 * (e - (x + <f32>0.5));
    return 1 + <f32>2 * (x - e);
  }
  const twopk = reinterpret<f32>(<u32>(0x7f + k) << 23);
  if (k < 0 || k > 56) {
    let y: f32 = x - e + 1;
    y = k == 128 ? y * 2 * TWO_127 : y * twopk;
    return y - 1;
  }
  const inverse = reinterpret<f32>(<u32>(0x7f - k) << 23); // 2^-k
  return k < 23 ? (x - e + (1 - inverse)) * twopk : (x - (e + inverse) + 1) * twopk;
}

/** tanh (musl src/math/tanhf.c). */
export function tanhf(x: f32): f32 {
  const bits = reinterpret<u32>(x);
  const w = bits & 0x7fffffff;
  const y = reinterpret<f32>(w);
  let t: f32;
  if (w > 0x3f0c9f54) {
    // |x| > log(3)/2
    if (w > 0x41200000) t = 1 + 0 / y; // |x| > 10 (NaN stays NaN)
    else {
      t = expm1f(2 * y);
      t = 1 - 2 / (t + 2);
    }
  } else if (w > 0x3e82c578) {
    // |x| > log(5/3)/2
    t = expm1f(2 * y);
    t = t / (t + 2);
  } else if (w >= 0x00800000) {
    t = expm1f(-2 * y);
    t = -t / (t + 2);
  } else t = y; // subnormal
  return bits >> 31 ? -t : t;
}

// Four lanes at once: the same float32 operations lane by lane (so the same bits as tanhf), every
// branch computed and the right one selected. Only the arguments tanhf gives expm1f occur:
// z = -2|x| in [-0.511, 0] for |x| <= 0.2554, where expm1f's reduction picks k = 0 (|z| <= ln2 / 2)
// or k = -1, and z = 2|x| > 0.51 above, where k = 1 (z < 1.5 ln2) or round(z / ln2) >= 2; so the
// k < -1 branch is left out, and k > 56 only occurs for |x| > 10, whose lanes tanh sets to 1.
// With k = 0 the reduction leaves z as it is (hi = z - 0, lo = 0, c = 0): one reduction serves every lane.

@inline function lanes(mask: v128, ifTrue: v128, ifFalse: v128): v128 {
  return v128.bitselect(ifTrue, ifFalse, mask);
}

/** expm1f for the lanes of tanhf4 (see above). */
@inline function expm1f4(z: v128): v128 {
  const bits = z;
  const hx = v128.and(bits, i32x4.splat(0x7fffffff));
  const negative = i32x4.lt_s(bits, i32x4.splat(0));
  const reduced = i32x4.gt_u(hx, i32x4.splat(0x3eb17218));
  const nearOne = i32x4.lt_u(hx, i32x4.splat(0x3f851592));
  const rounded = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.splat(INV_LN2), z), lanes(negative, f32x4.splat(-0.5), f32x4.splat(0.5))));
  const k = v128.and(lanes(nearOne, lanes(negative, i32x4.splat(-1), i32x4.splat(1)), rounded), reduced); // 0 where not reduced
  const t = f32x4.convert_i32x4_s(k);
  const hi = f32x4.sub(z, f32x4.mul(t, f32x4.splat(LN2_HI)));
  const lo = f32x4.mul(t, f32x4.splat(LN2_LO));
  const x = f32x4.sub(hi, lo);
  const c = f32x4.sub(f32x4.sub(hi, x), lo);
  const hfx = f32x4.mul(f32x4.splat(0.5), x);
  const hxs = f32x4.mul(x, hfx);
  const r1 = f32x4.add(f32x4.splat(1), f32x4.mul(hxs, f32x4.add(f32x4.splat(Q1), f32x4.mul(hxs, f32x4.splat(Q2)))));
  const t3 = f32x4.sub(f32x4.splat(3), f32x4.mul(r1, hfx));
  const e0 = f32x4.mul(hxs, f32x4.div(f32x4.sub(r1, t3), f32x4.sub(f32x4.splat(6), f32x4.mul(x, t3))));
  const whenK0 = f32x4.sub(x, f32x4.sub(f32x4.mul(x, e0), hxs));
  const e = f32x4.sub(f32x4.sub(f32x4.mul(x, f32x4.sub(e0, c)), c), hxs);
  const whenKm1 = f32x4.sub(f32x4.mul(f32x4.splat(0.5), f32x4.sub(x, e)), f32x4.splat(0.5));
  const whenK1 = lanes(
    f32x4.lt(x, f32x4.splat(-0.25)),
    f32x4.mul(f32x4.splat(-2), f32x4.sub(e, f32x4.add(x, f32x4.splat(0.5)))),
    f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(2), f32x4.sub(x, e))),
  );
  const twopk = i32x4.shl(i32x4.add(i32x4.splat(0x7f), k), 23);
  const inverse = i32x4.shl(i32x4.sub(i32x4.splat(0x7f), k), 23);
  const whenSmall = f32x4.mul(f32x4.add(f32x4.sub(x, e), f32x4.sub(f32x4.splat(1), inverse)), twopk); // 2 <= k < 23
  const whenLarge = f32x4.mul(f32x4.add(f32x4.sub(x, f32x4.add(e, inverse)), f32x4.splat(1)), twopk); // 23 <= k
  let result = lanes(i32x4.lt_s(k, i32x4.splat(23)), whenSmall, whenLarge);
  result = lanes(i32x4.eq(k, i32x4.splat(1)), whenK1, result);
  result = lanes(i32x4.eq(k, i32x4.splat(-1)), whenKm1, result);
  result = lanes(i32x4.eq(k, i32x4.splat(0)), whenK0, result);
  return lanes(i32x4.lt_u(hx, i32x4.splat(0x33000000)), z, result); // |z| < 2^-25: z itself
}

/** tanhf of four lanes, bit for bit. */
@inline export function tanhf4(v: v128): v128 {
  const w = v128.and(v, i32x4.splat(0x7fffffff));
  const y = w; // |x|
  const above = i32x4.gt_u(w, i32x4.splat(0x3e82c578)); // |x| > log(5/3)/2: expm1f(2|x|), else expm1f(-2|x|)
  const twoY = f32x4.mul(f32x4.splat(2), y);
  const t = expm1f4(lanes(above, twoY, f32x4.neg(twoY)));
  const two = f32x4.splat(2);
  const ratio = f32x4.div(t, f32x4.add(t, two)); // t / (t + 2); the small branch's -t / (t + 2) is its negation, exactly
  let r = lanes(above, ratio, f32x4.neg(ratio));
  r = lanes(i32x4.gt_u(w, i32x4.splat(0x3f0c9f54)), f32x4.sub(f32x4.splat(1), f32x4.div(two, f32x4.add(t, two))), r);
  // |x| > 10: 1 + 0 / |x|, which is 1, or NaN for a NaN
  r = lanes(i32x4.gt_u(w, i32x4.splat(0x41200000)), lanes(i32x4.gt_u(w, i32x4.splat(0x7f800000)), f32x4.add(y, f32x4.splat(1)), f32x4.splat(1)), r);
  r = lanes(i32x4.lt_u(w, i32x4.splat(0x00800000)), y, r);
  return v128.or(r, v128.and(v, i32x4.splat(0x80000000))); // the sign of x
}

/** out[i] = tanhf(x[i]), i < n (four at a time; the test of tanhf4 against the built-in Tanh kernel). */
export function tanhArray(x: usize, out: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (i << 2), tanhf4(v128.load(x + (i << 2))));
  for (; i < n; i++) store<f32>(out + (i << 2), tanhf(load<f32>(x + (i << 2))));
}
