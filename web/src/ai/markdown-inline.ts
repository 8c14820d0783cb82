/**
 * Inline Markdown of an assistant reply: emphasis, strikethrough, code spans, escapes,
 * hard breaks and links (bracketed, autolinks and bare URLs). A link survives only with
 * an http, https or mailto address (`safeHref`); anything else keeps its words as text.
 * Pure: no DOM.
 */
import { MAX_DEPTH, type Inline } from './markdown-tree';
import { safeHref } from './safe-href';

const ESCAPABLE = /[!-/:-@[-`{-~]/;
// Sticky (`y`) patterns match at `lastIndex`, so the inline scanner never copies the rest of the text.
const BARE_URL = /https?:\/\/[^\s<>"]*[^\s<>".,:;'!?)\]*_~]/iy;
const AUTOLINK = /<((?:https?|mailto):[^\s<>]+)>/iy;
const LINK_TARGET = /\(\s*<?([^\s()<>]*)>?(?:\s+"[^"]*")?\s*\)/y;
const BACKTICKS = /`+/y;

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

/**
 * What a scanner made of the text at a position: `nodes` to add after the text so far,
 * or `literal` text to add to it; either way the scan goes on at `end`.
 */
type Scan = { nodes: Inline[]; end: number } | { literal: string; end: number };

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
    const scan = scanAt(text, i, depth) ?? { literal: c, end: i + 1 };
    if ('nodes' in scan) {
      flush();
      out.push(...scan.nodes);
    } else buffer += scan.literal;
    i = scan.end;
  }
  flush();
  return out;
}

/** The construct that starts at `i`, if any: an escape, a code span, emphasis or a link. */
function scanAt(text: string, i: number, depth: number): Scan | undefined {
  switch (text[i]) {
    case '\\':
      return scanEscape(text, i);
    case '`':
      return scanCode(text, i);
    case '*':
    case '_':
    case '~':
      return depth < MAX_DEPTH ? scanEmphasis(text, i, depth) : undefined;
    case '[':
      return depth < MAX_DEPTH ? scanLink(text, i, depth) : undefined;
    case '<':
      return scanAutolink(text, i);
    case 'h':
    case 'H':
      return scanBareUrl(text, i);
    default:
      return undefined;
  }
}

/** A backslash before a line break is a hard break; before punctuation, it makes that character literal. */
function scanEscape(text: string, i: number): Scan | undefined {
  const next = text[i + 1] ?? '';
  if (next === '\n') return { nodes: [{ type: 'br' }], end: i + 2 };
  if (ESCAPABLE.test(next)) return { literal: next, end: i + 2 };
  return undefined;
}

/** A code span closed by a run of as many backticks; an unclosed run stays text. */
function scanCode(text: string, i: number): Scan {
  BACKTICKS.lastIndex = i;
  const run = BACKTICKS.exec(text)?.[0] ?? '`';
  const close = new RegExp(`(?<!\`)${run}(?!\`)`, 'g');
  close.lastIndex = i + run.length;
  const found = close.exec(text);
  if (!found) return { literal: run, end: i + run.length };
  let code = text.slice(i + run.length, found.index).replace(/\n/g, ' ');
  if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
  return { nodes: [{ type: 'code', text: code }], end: found.index + run.length };
}

/** `*em*`, `_em_`, `**strong**`, `__strong__` or `~~del~~`; a delimiter that opens nothing stays text. */
function scanEmphasis(text: string, i: number, depth: number): Scan {
  const c = text[i] ?? '';
  const double = text[i + 1] === c;
  const delimiter = double ? c + c : c;
  const opensWord = !/\s/.test(text[i + delimiter.length] ?? ' ');
  const intraword = c === '_' && /[\p{L}\p{N}]/u.test(text[i - 1] ?? ' ');
  if ((c !== '~' || double) && opensWord && !intraword) {
    const close = findCloser(text, delimiter, i + delimiter.length);
    if (close !== -1) {
      const children = parseInline(text.slice(i + delimiter.length, close), depth + 1);
      const type = c === '~' ? 'del' : double ? 'strong' : 'em';
      return { nodes: [{ type, children }], end: close + delimiter.length };
    }
  }
  return { literal: delimiter, end: i + delimiter.length };
}

/** `[words](target)`: a link when the target is safe, else just the words. */
function scanLink(text: string, i: number, depth: number): Scan | undefined {
  const close = findBracket(text, i);
  LINK_TARGET.lastIndex = close + 1;
  const target = close === -1 ? null : LINK_TARGET.exec(text);
  if (close === -1 || !target) return undefined;
  const children = parseInline(text.slice(i + 1, close), depth + 1);
  const href = safeHref(target[1] ?? '');
  // An unsafe or relative target: the words stay, the link goes.
  return { nodes: href ? [{ type: 'link', href, children }] : children, end: close + 1 + target[0].length };
}

/** `<https://…>` or `<mailto:…>`. */
function scanAutolink(text: string, i: number): Scan | undefined {
  AUTOLINK.lastIndex = i;
  const auto = AUTOLINK.exec(text);
  const href = auto ? safeHref(auto[1] ?? '') : undefined;
  if (!auto || !href) return undefined;
  return {
    nodes: [{ type: 'link', href, children: [{ type: 'text', text: auto[1] ?? '' }] }],
    end: i + auto[0].length,
  };
}

/** A bare `http(s)://…` address at the start of a word. */
function scanBareUrl(text: string, i: number): Scan | undefined {
  if (/[\p{L}\p{N}]/u.test(text[i - 1] ?? ' ')) return undefined;
  BARE_URL.lastIndex = i;
  const bare = BARE_URL.exec(text);
  const href = bare ? safeHref(bare[0]) : undefined;
  if (!bare || !href) return undefined;
  return { nodes: [{ type: 'link', href, children: [{ type: 'text', text: bare[0] }] }], end: i + bare[0].length };
}
