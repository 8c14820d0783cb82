/**
 * A Markdown subset for assistant replies, parsed to a tree (no HTML anywhere): headings,
 * paragraphs, emphasis, strikethrough, inline and fenced code, lists (nested), block
 * quotes, rules, GFM tables and links. Raw HTML in the source stays literal text, and a
 * link survives only with an http, https or mailto address. The tree is turned into DOM
 * nodes by `markdown-dom.ts` with `textContent`, so nothing the model writes is ever
 * parsed as HTML. Pure: no DOM, unit-tested in Node.
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

/** Link schemes that may become a clickable link; anything else (javascript:, data:…) stays text. */
const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:']);
/** Deepest nesting of lists and quotes parsed as such; deeper stays text (bounds recursion on hostile input). */
const MAX_DEPTH = 12;
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
const ESCAPABLE = /[!-/:-@[-`{-~]/;
// Sticky (`y`) patterns match at `lastIndex`, so the inline scanner never copies the rest of the text.
const BARE_URL = /https?:\/\/[^\s<>"]*[^\s<>".,:;'!?)\]*_~]/iy;
const AUTOLINK = /<((?:https?|mailto):[^\s<>]+)>/iy;
const LINK_TARGET = /\(\s*<?([^\s()<>]*)>?(?:\s+"[^"]*")?\s*\)/y;
const BACKTICKS = /`+/y;

/**
 * Returns `raw` as an absolute http(s)/mailto URL, or undefined when it is anything
 * else (a relative path, `javascript:`, `data:`…).
 */
export function safeHref(raw: string): string | undefined {
  try {
    const url = new URL(raw.trim());
    return SAFE_SCHEMES.has(url.protocol) ? url.href : undefined;
  } catch {
    return undefined; // not an absolute URL: shown as text
  }
}

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

/** Finds the closing `delimiter` for an opening at `from`, or -1. The closer must follow a non-space. */
function findCloser(text: string, delimiter: string, from: number): number {
  let at = text.indexOf(delimiter, from);
  while (at !== -1) {
    const before = text[at - 1] ?? ' ';
    const after = text[at + delimiter.length] ?? ' ';
    const intraword = delimiter[0] === '_' && /[\p{L}\p{N}]/u.test(after);
    if (at > from && !/\s/.test(before) && !intraword) return at;
    at = text.indexOf(delimiter, at + 1);
  }
  return -1;
}

/** Finds the `]` that closes the `[` at `open`, honouring nesting and escapes, or -1. */
function findBracket(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i;
  }
  return -1;
}

/** Parses inline Markdown (one paragraph's text). Never throws. */
export function parseInline(text: string, depth = 0): Inline[] {
  const out: Inline[] = [];
  let buffer = '';
  const flush = (): void => {
    if (buffer) out.push({ type: 'text', text: buffer });
    buffer = '';
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '\\' && text[i + 1] === '\n') {
      flush();
      out.push({ type: 'br' });
      i += 2;
      continue;
    }
    if (c === '\\' && ESCAPABLE.test(text[i + 1] ?? '')) {
      buffer += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '\n') {
      const hard = / {2,}$/.test(buffer);
      buffer = buffer.replace(/ +$/, '');
      if (hard) {
        flush();
        out.push({ type: 'br' });
      } else buffer += '\n';
      i++;
      continue;
    }
    if (c === '`') {
      BACKTICKS.lastIndex = i;
      const run = BACKTICKS.exec(text)?.[0] ?? '`';
      const close = new RegExp(`(?<!\`)${run}(?!\`)`, 'g');
      close.lastIndex = i + run.length;
      const found = close.exec(text);
      if (found) {
        let code = text.slice(i + run.length, found.index).replace(/\n/g, ' ');
        if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
        flush();
        out.push({ type: 'code', text: code });
        i = found.index + run.length;
      } else {
        buffer += run;
        i += run.length;
      }
      continue;
    }
    if (depth < MAX_DEPTH && (c === '*' || c === '_' || c === '~')) {
      const double = text[i + 1] === c;
      const delimiter = double ? c + c : c;
      const opensWord = !/\s/.test(text[i + delimiter.length] ?? ' ');
      const intraword = c === '_' && /[\p{L}\p{N}]/u.test(text[i - 1] ?? ' ');
      if ((c !== '~' || double) && opensWord && !intraword) {
        const close = findCloser(text, delimiter, i + delimiter.length);
        if (close !== -1) {
          flush();
          const children = parseInline(text.slice(i + delimiter.length, close), depth + 1);
          out.push({ type: c === '~' ? 'del' : double ? 'strong' : 'em', children });
          i = close + delimiter.length;
          continue;
        }
      }
      buffer += delimiter;
      i += delimiter.length;
      continue;
    }
    if (c === '[' && depth < MAX_DEPTH) {
      const close = findBracket(text, i);
      LINK_TARGET.lastIndex = close + 1;
      const target = close === -1 ? null : LINK_TARGET.exec(text);
      if (close !== -1 && target) {
        flush();
        const children = parseInline(text.slice(i + 1, close), depth + 1);
        const href = safeHref(target[1] ?? '');
        if (href) out.push({ type: 'link', href, children });
        else out.push(...children); // an unsafe or relative target: the words stay, the link goes
        i = close + 1 + target[0].length;
        continue;
      }
    }
    if (c === '<') {
      AUTOLINK.lastIndex = i;
      const auto = AUTOLINK.exec(text);
      const href = auto ? safeHref(auto[1] ?? '') : undefined;
      if (auto && href) {
        flush();
        out.push({ type: 'link', href, children: [{ type: 'text', text: auto[1] ?? '' }] });
        i += auto[0].length;
        continue;
      }
    }
    if ((c === 'h' || c === 'H') && !/[\p{L}\p{N}]/u.test(text[i - 1] ?? ' ')) {
      BARE_URL.lastIndex = i;
      const bare = BARE_URL.exec(text);
      const href = bare ? safeHref(bare[0]) : undefined;
      if (bare && href) {
        flush();
        out.push({ type: 'link', href, children: [{ type: 'text', text: bare[0] }] });
        i += bare[0].length;
        continue;
      }
    }
    buffer += c;
    i++;
  }
  flush();
  return out;
}
