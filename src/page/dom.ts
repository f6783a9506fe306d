// Two small helpers of the page's modules: an element of index.html by its id, and a number to two
// decimals (the points the page adds on a click or samples, the random waves it draws).
export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
export const round2 = (v: number) => Math.round(v * 100) / 100;
