/** What an escape character in pasted text is shown as: U+241B SYMBOL FOR ESCAPE. */
const VISIBLE_ESCAPE = '\u241b';

/**
 * Pasted text with every escape introducer (ESC and the 8-bit CSI, 0x9B) replaced by a
 * visible symbol, so it cannot contain the bracketed-paste end marker `ESC[201~` and
 * close the bracket early — after which the rest would run as typed commands (P07 in
 * docs/pitfalls.md, xterm.js#5716, GHSA-h62m-39wp-xq3w). xterm.js 6.0 brackets pasted text but does
 * not clean it. The visible symbol keeps the text honest about what was on the clipboard.
 */
export function neutralisePaste(text: string): string {
  return text.replace(/[\x1b\x9b]/g, VISIBLE_ESCAPE);
}
