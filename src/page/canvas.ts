// Plain canvas drawing, the page's only plotting: a frame with axes and ticks (linear or log10), lines
// and dots in its coordinates.

export interface Frame {
  ctx: CanvasRenderingContext2D;
  px: (x: number) => number;
  py: (y: number) => number;
  x: (px: number) => number;
}

/** A canvas scaled for the screen, with axes over [x0, x1] x [y0, y1]; log: a log10 y axis. */
export function frame(canvas: HTMLCanvasElement, [x0, x1]: [number, number], [y0, y1]: [number, number], log = false, xTicks?: number[]): Frame {
  const ratio = window.devicePixelRatio || 1;
  const w = Number(canvas.dataset.w ?? canvas.width);
  const h = Number(canvas.dataset.h ?? canvas.height);
  Object.assign(canvas.dataset, { w, h });
  canvas.width = w * ratio;
  canvas.height = h * ratio;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const [left, right, top, bottom] = [44, 8, 8, 24];
  const ty = (y: number) => (log ? Math.log10(y) : y);
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (w - left - right);
  const py = (y: number) => top + (1 - (ty(y) - ty(y0)) / (ty(y1) - ty(y0))) * (h - top - bottom);
  ctx.strokeStyle = '#999';
  ctx.fillStyle = '#555';
  ctx.font = '11px "DejaVu Sans", sans-serif';
  ctx.strokeRect(left, top, w - left - right, h - top - bottom);
  ctx.textAlign = 'center';
  for (const x of xTicks ?? niceTicks(x0, x1)) ctx.fillText(String(+x.toFixed(2)), px(x), h - 8);
  ctx.textAlign = 'right';
  const yTicks = log ? Array.from({ length: Math.floor(Math.log10(y1)) - Math.ceil(Math.log10(y0)) + 1 }, (_, i) => 10 ** (Math.ceil(Math.log10(y0)) + i)) : niceTicks(y0, y1);
  for (const y of yTicks) ctx.fillText(log ? String(y) : String(+y.toFixed(2)), left - 4, py(y) + 4);
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, w - left - right, h - top - bottom);
  ctx.clip();
  return { ctx, px, py, x: (p: number) => x0 + ((p - left) / (w - left - right)) * (x1 - x0) };
}

function niceTicks(lo: number, hi: number): number[] {
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 4));
  const s = [1, 2, 5, 10].map((m) => m * step).find((m) => (hi - lo) / m <= 6)!;
  return Array.from({ length: Math.floor(hi / s) - Math.ceil(lo / s) + 1 }, (_, i) => (Math.ceil(lo / s) + i) * s);
}

export function polyline(f: Frame, xs: number[], ys: number[], color: string, width = 2, dash: number[] = []): void {
  f.ctx.strokeStyle = color;
  f.ctx.lineWidth = width;
  f.ctx.setLineDash(dash);
  f.ctx.beginPath();
  xs.forEach((x, i) => (i ? f.ctx.lineTo(f.px(x), f.py(ys[i])) : f.ctx.moveTo(f.px(x), f.py(ys[i]))));
  f.ctx.stroke();
  f.ctx.setLineDash([]);
}

export function dot(f: Frame, x: number, y: number, color: string, r = 4.5, shape: 'circle' | 'triangle' = 'circle'): void {
  f.ctx.fillStyle = color;
  f.ctx.beginPath();
  if (shape === 'circle') f.ctx.arc(f.px(x), f.py(y), r, 0, 2 * Math.PI);
  else {
    f.ctx.moveTo(f.px(x), f.py(y) - r);
    f.ctx.lineTo(f.px(x) - r, f.py(y) + r);
    f.ctx.lineTo(f.px(x) + r, f.py(y) + r);
  }
  f.ctx.fill();
}
