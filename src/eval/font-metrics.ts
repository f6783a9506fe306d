// The advance widths of a TrueType font, for laying text out as resvg will draw it. Vega measures
// text on a canvas, which Node lacks; without one it guesses 0.8 em a character, where DejaVu Sans
// averages nearer 0.6, and pads a plot's canvas by what its longest texts would take at that guess.
import { readFileSync } from 'node:fs';

/**
 * Measures lines of text in the TrueType font of `file`, in ems: the sum of its characters' advances, from
 * the font's Unicode map (its cmap subtable of format 12). A character the font lacks takes the advance of
 * the glyph drawn for it (glyph 0). Kerning is left out: it narrows a line by a pixel or two.
 */
export function textWidthIn(file: string): (text: string) => number {
  const font = readFileSync(file);
  const tables = new Map<string, number>();
  for (let i = 0; i < font.readUInt16BE(4); i++) tables.set(font.toString('latin1', 12 + 16 * i, 16 + 16 * i), font.readUInt32BE(20 + 16 * i));
  const table = (tag: string) => {
    const offset = tables.get(tag);
    if (offset === undefined) throw new Error(`${file}: no ${tag} table`);
    return offset;
  };
  const unitsPerEm = font.readUInt16BE(table('head') + 18);
  const metrics = font.readUInt16BE(table('hhea') + 34);
  // Glyphs past the last metric take its advance.
  const advance = (glyph: number) => font.readUInt16BE(table('hmtx') + 4 * Math.min(glyph, metrics - 1)) / unitsPerEm;
  const cmap = table('cmap');
  const subtables = Array.from({ length: font.readUInt16BE(cmap + 2) }, (_, i) => cmap + font.readUInt32BE(cmap + 8 + 8 * i));
  const unicode = subtables.find((subtable) => font.readUInt16BE(subtable) === 12);
  if (unicode === undefined) throw new Error(`${file}: no cmap subtable of format 12`);
  const widths = new Map<number, number>();
  for (let group = unicode + 16, end = group + 12 * font.readUInt32BE(unicode + 12); group < end; group += 12) {
    const [first, last, glyph] = [0, 4, 8].map((at) => font.readUInt32BE(group + at));
    for (let c = first; c <= last; c++) widths.set(c, advance(glyph + c - first));
  }
  return (text) => {
    let width = 0;
    for (const c of text) width += widths.get(c.codePointAt(0)!) ?? advance(0);
    return width;
  };
}
