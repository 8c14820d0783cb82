/**
 * The tree an assistant reply's Markdown is parsed to (`markdown.ts`, `markdown-inline.ts`)
 * and built into DOM nodes from (`markdown-dom.ts`): plain data, no HTML anywhere.
 */

/** Inline content. */
export type Inline =
  | { type: 'text'; text: string }
  | { type: 'code'; text: string }
  | { type: 'strong' | 'em' | 'del'; children: Inline[] }
  | { type: 'link'; href: string; children: Inline[] }
  | { type: 'br' };

/** A table column's alignment. */
export type Align = 'left' | 'center' | 'right' | null;

/** Block content. `open` on code marks a fence not closed yet (a reply still streaming). */
export type Block =
  | { type: 'paragraph'; children: Inline[] }
  | { type: 'heading'; level: number; children: Inline[] }
  | { type: 'code'; lang: string; text: string; open: boolean }
  | { type: 'list'; ordered: boolean; start: number; items: Block[][] }
  | { type: 'quote'; children: Block[] }
  | { type: 'hr' }
  | { type: 'table'; align: Align[]; header: Inline[][]; rows: Inline[][][] };

/**
 * Deepest nesting parsed as such, of lists and quotes and of inline emphasis and links;
 * deeper stays text (bounds recursion on hostile input).
 */
export const MAX_DEPTH = 12;
