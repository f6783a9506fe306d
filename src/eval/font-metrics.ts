// The advance widths of a TrueType font, for laying text out as resvg will draw it. Vega measures
// text on a canvas, which Node lacks; without one it guesses 0.8 em a character, where DejaVu Sans
// averages nearer 0.6, and pads a plot's canvas by what its longest texts would take at that guess.
import { readFileSync } from 'node:fs';
import opentype from 'opentype.js';

/**
 * Measures lines of text in the TrueType font of `file`, in ems: the sum of its characters' advances (opentype.js
 * reads the font). A character the font lacks takes the advance of the glyph drawn for it. Kerning is left out:
 * it narrows a line by a pixel or two.
 */
export function textWidthIn(file: string): (text: string) => number {
  const bytes = readFileSync(file);
  const font = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const widths = new Map<string, number>();
  const advance = (c: string) => {
    if (!widths.has(c)) widths.set(c, (font.charToGlyph(c).advanceWidth ?? 0) / font.unitsPerEm);
    return widths.get(c)!;
  };
  return (text) => {
    let width = 0;
    for (const c of text) width += advance(c);
    return width;
  };
}
