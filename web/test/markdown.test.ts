import { parseMarkdown } from '../src/ai/markdown';
import { parseInline } from '../src/ai/markdown-inline';
import type { Block, Inline } from '../src/ai/markdown-tree';
import { safeHref } from '../src/ai/safe-href';

/** The plain text of inline content, to compare shapes without spelling out every node. */
function text(content: Inline[]): string {
  return content
    .map((node) => {
      if (node.type === 'text' || node.type === 'code') return node.text;
      if (node.type === 'br') return '\n';
      return text(node.children);
    })
    .join('');
}

test('headings, paragraphs, emphasis and inline code parse to their nodes', () => {
  const blocks = parseMarkdown('# Title\n\nSome **bold**, *em*, ~~gone~~ and `code`.\nSame paragraph.');
  expect(blocks.map((block) => block.type)).toEqual(['heading', 'paragraph']);
  const paragraph = blocks[1] as Extract<Block, { type: 'paragraph' }>;
  expect(paragraph.children.map((node) => node.type)).toEqual([
    'text',
    'strong',
    'text',
    'em',
    'text',
    'del',
    'text',
    'code',
    'text',
  ]);
  expect(text(paragraph.children)).toBe('Some bold, em, gone and code.\nSame paragraph.');
});

test('a fenced code block keeps its text exactly and is marked open until its fence closes', () => {
  const closed = parseMarkdown('```bash\necho "<b>hi</b>" | tr a b\n  indented\n```\nafter');
  expect(closed[0]).toEqual({ type: 'code', lang: 'bash', text: 'echo "<b>hi</b>" | tr a b\n  indented', open: false });
  expect(closed[1]?.type).toBe('paragraph');
  const streaming = parseMarkdown('```js\nconst a = 1;');
  expect(streaming).toEqual([{ type: 'code', lang: 'js', text: 'const a = 1;', open: true }]);
});

test('ordered and unordered lists nest by indentation', () => {
  const [list] = parseMarkdown('3. one\n4. two\n   - inner a\n   - inner b\n5. three');
  expect(list).toMatchObject({ type: 'list', ordered: true, start: 3 });
  const items = (list as Extract<Block, { type: 'list' }>).items;
  expect(items).toHaveLength(3);
  expect(items[1]?.[1]).toMatchObject({ type: 'list', ordered: false });
  expect((items[1]?.[1] as Extract<Block, { type: 'list' }>).items).toHaveLength(2);
});

test('quotes, rules and tables parse', () => {
  const blocks = parseMarkdown('> quoted\n> more\n\n---\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n| 3 |');
  expect(blocks.map((block) => block.type)).toEqual(['quote', 'hr', 'table']);
  const table = blocks[2] as Extract<Block, { type: 'table' }>;
  expect(table.align).toEqual(['left', 'right']);
  expect(table.rows.map((row) => row.map(text))).toEqual([
    ['1', '2'],
    ['3', ''],
  ]);
});

test('raw HTML stays literal text', () => {
  const [paragraph] = parseMarkdown('<img src=x onerror="alert(1)"> <script>alert(2)</script>');
  expect(paragraph).toEqual({
    type: 'paragraph',
    children: [{ type: 'text', text: '<img src=x onerror="alert(1)"> <script>alert(2)</script>' }],
  });
});

test('only http, https and mailto links become links; others keep their words', () => {
  expect(safeHref('javascript:alert(1)')).toBeUndefined();
  expect(safeHref('JaVaScRiPt:alert(1)')).toBeUndefined();
  expect(safeHref('data:text/html,<script>alert(1)</script>')).toBeUndefined();
  expect(safeHref('/relative/path')).toBeUndefined();
  expect(safeHref('https://example.com/a b')).toBe('https://example.com/a%20b');
  const nodes = parseInline(
    '[run](javascript:alert(1)) [docs](https://example.com/docs) <mailto:a@b.c> https://x.org/p.',
  );
  const links = nodes.filter((node): node is Extract<Inline, { type: 'link' }> => node.type === 'link');
  expect(links.map((link) => link.href)).toEqual(['https://example.com/docs', 'mailto:a@b.c', 'https://x.org/p']);
  expect(text(nodes)).toContain('run');
});

test('unclosed emphasis and escapes stay as typed', () => {
  expect(text(parseInline('**half done'))).toBe('**half done');
  expect(text(parseInline('snake_case_name and 2 * 3 * 4'))).toBe('snake_case_name and 2 * 3 * 4');
  expect(text(parseInline('\\*not em\\*'))).toBe('*not em*');
});

test('hostile nesting does not overflow the stack', () => {
  const deep = '> '.repeat(5000) + 'x';
  expect(() => parseMarkdown(deep)).not.toThrow();
  expect(() => parseInline('['.repeat(5000) + 'x' + ']'.repeat(5000))).not.toThrow();
  expect(() => parseInline('*'.repeat(20000))).not.toThrow();
});
