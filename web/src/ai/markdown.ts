/**
 * A Markdown subset for assistant replies, parsed to a tree (no HTML anywhere): headings,
 * paragraphs, emphasis, strikethrough, inline and fenced code, lists (nested), block
 * quotes, rules, GFM tables and links. Raw HTML in the source stays literal text, and a
 * link survives only with an http, https or mailto address. The tree is turned into DOM
 * nodes by `markdown-dom.ts` with `textContent`, so nothing the model writes is ever
 * parsed as HTML. Pure: no DOM, unit-tested in Node.
 *
 * This file parses blocks; the text inside them goes to `parseInline` (`markdown-inline.ts`).
 */

import { parseInline } from './markdown-inline';
import { MAX_DEPTH, type Align, type Block, type Inline } from './markdown-tree';

/** Spaces a tab counts for in indentation. */
const TAB_WIDTH = 4;

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])([ \t]+|$)(.*)$/;
const TABLE_SEPARATOR = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
const SETEXT_1 = /^ {0,3}=+[ \t]*$/;
const SETEXT_2 = /^ {0,3}-+[ \t]*$/;

/** Parses Markdown text into blocks. Never throws; unknown syntax is text. */
export function parseMarkdown(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n').map(expandLeadingTabs);
  return parseBlocks(lines, 0);
}

function expandLeadingTabs(line: string): string {
  return line.replace(/^[ \t]+/, (lead) => lead.replace(/\t/g, ' '.repeat(TAB_WIDTH)));
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

interface ListMarker {
  ordered: boolean;
  start: number;
  /** Column where the item's content starts. */
  contentIndent: number;
  content: string;
}

function listMarker(line: string): ListMarker | undefined {
  const match = LIST_ITEM.exec(line);
  if (!match) return undefined;
  const [, lead = '', marker = '', gap = '', content = ''] = match;
  if (RULE.test(line)) return undefined; // "* * *" is a rule, not an item
  const ordered = /\d/.test(marker);
  // More than four spaces after the marker: the content is indented code in CommonMark; we take one.
  const spaces = gap.length === 0 || gap.length > 4 ? 1 : gap.length;
  return {
    ordered,
    start: ordered ? Number.parseInt(marker, 10) : 1,
    contentIndent: lead.length + marker.length + spaces,
    content: gap.length > 4 ? gap.slice(1) + content : content,
  };
}

function isTableStart(lines: string[], i: number): boolean {
  const line = lines[i] ?? '';
  const next = lines[i + 1];
  return line.includes('|') && next !== undefined && next.includes('-') && TABLE_SEPARATOR.test(next);
}

/** True when `line` begins a block that ends a paragraph. */
function interruptsParagraph(lines: string[], i: number): boolean {
  const line = lines[i] ?? '';
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    listMarker(line) !== undefined ||
    isTableStart(lines, i)
  );
}

function parseBlocks(lines: string[], depth: number): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (isBlank(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1] ?? '```';
      const closing = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
      const indent = indentOf(line);
      const body: string[] = [];
      let open = true;
      for (i++; i < lines.length; i++) {
        const inner = lines[i] ?? '';
        if (closing.test(inner)) {
          open = false;
          i++;
          break;
        }
        body.push(inner.slice(Math.min(indent, indentOf(inner))));
      }
      blocks.push({ type: 'code', lang: fence[2] ?? '', text: body.join('\n'), open });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ type: 'heading', level: heading[1]?.length ?? 1, children: parseInline(heading[2] ?? '') });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push({ type: 'hr' });
      i++;
      continue;
    }
    if (QUOTE.test(line) && depth < MAX_DEPTH) {
      const inner: string[] = [];
      while (i < lines.length && !isBlank(lines[i] ?? '')) {
        const current = lines[i] ?? '';
        if (QUOTE.test(current)) inner.push(current.replace(QUOTE, ''));
        else if (interruptsParagraph(lines, i)) break;
        else inner.push(current); // lazy continuation of the quoted paragraph
        i++;
      }
      blocks.push({ type: 'quote', children: parseBlocks(inner, depth + 1) });
      continue;
    }
    const marker = listMarker(line);
    if (marker && depth < MAX_DEPTH) {
      i = parseList(lines, i, marker, depth, blocks);
      continue;
    }
    if (isTableStart(lines, i)) {
      i = parseTable(lines, i, blocks);
      continue;
    }
    i = parseParagraph(lines, i, blocks);
  }
  return blocks;
}

function parseList(lines: string[], from: number, first: ListMarker, depth: number, out: Block[]): number {
  const items: Block[][] = [];
  let i = from;
  let marker: ListMarker | undefined = first;
  while (marker && marker.ordered === first.ordered) {
    const itemLines = [marker.content];
    const contentIndent = marker.contentIndent;
    i++;
    while (i < lines.length) {
      const line = lines[i] ?? '';
      if (isBlank(line)) {
        let next = i;
        while (next < lines.length && isBlank(lines[next] ?? '')) next++;
        if (next < lines.length && indentOf(lines[next] ?? '') >= contentIndent) {
          for (; i < next; i++) itemLines.push('');
          continue;
        }
        break;
      }
      if (indentOf(line) >= contentIndent) {
        itemLines.push(line.slice(contentIndent));
        i++;
        continue;
      }
      if (interruptsParagraph(lines, i)) break;
      itemLines.push(line.trim()); // lazy continuation
      i++;
    }
    items.push(parseBlocks(itemLines, depth + 1));
    let next = i;
    while (next < lines.length && isBlank(lines[next] ?? '')) next++;
    const following = next < lines.length ? listMarker(lines[next] ?? '') : undefined;
    if (!following || following.ordered !== first.ordered || indentOf(lines[next] ?? '') >= contentIndent) break;
    i = next;
    marker = following;
  }
  out.push({ type: 'list', ordered: first.ordered, start: first.start, items });
  return i;
}

function splitRow(line: string): string[] {
  let row = line.trim();
  if (row.startsWith('|')) row = row.slice(1);
  if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
  const cells: string[] = [];
  let cell = '';
  for (let i = 0; i < row.length; i++) {
    const c = row[i];
    if (c === '\\' && row[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (c === '|') {
      cells.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

function parseTable(lines: string[], from: number, out: Block[]): number {
  const header = splitRow(lines[from] ?? '');
  const align = splitRow(lines[from + 1] ?? '').map((spec): Align => {
    const left = spec.startsWith(':');
    const right = spec.endsWith(':');
    return left && right ? 'center' : right ? 'right' : left ? 'left' : null;
  });
  const rows: Inline[][][] = [];
  let i = from + 2;
  while (i < lines.length && !isBlank(lines[i] ?? '') && (lines[i] ?? '').includes('|')) {
    const cells = splitRow(lines[i] ?? '');
    rows.push(header.map((_, column) => parseInline(cells[column] ?? '')));
    i++;
  }
  out.push({
    type: 'table',
    align: header.map((_, column) => align[column] ?? null),
    header: header.map(parseInline),
    rows,
  });
  return i;
}

function parseParagraph(lines: string[], from: number, out: Block[]): number {
  const text: string[] = [lines[from] ?? ''];
  let i = from + 1;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (isBlank(line)) break;
    if (SETEXT_1.test(line) || SETEXT_2.test(line)) {
      const level = SETEXT_1.test(line) ? 1 : 2;
      out.push({ type: 'heading', level, children: parseInline(text.join('\n').trim()) });
      return i + 1;
    }
    if (interruptsParagraph(lines, i)) break;
    text.push(line);
    i++;
  }
  out.push({
    type: 'paragraph',
    children: parseInline(
      text
        .map((line) => line.trimStart())
        .join('\n')
        .trimEnd(),
    ),
  });
  return i;
}
