import { button, el } from '../dom';
import { copyText } from '../terminal/clipboard';
import type { Block, Inline } from './markdown-tree';

/**
 * Builds DOM nodes for a parsed Markdown tree. Text goes in through text nodes only and
 * links carry an href that `safeHref` already allowed, so a reply cannot inject markup,
 * scripts or `javascript:` links whatever it contains.
 */
export function renderMarkdown(blocks: Block[]): DocumentFragment {
  const fragment = document.createDocumentFragment();
  for (const block of blocks) fragment.appendChild(renderBlock(block));
  return fragment;
}

function renderBlock(block: Block): Node {
  switch (block.type) {
    case 'paragraph':
      return inlines(el('p'), block.children);
    case 'heading':
      // Reply headings sit below the panel's own: h1 becomes h3 and so on, capped at h6.
      return inlines(el(`h${Math.min(6, block.level + 2)}` as 'h3'), block.children);
    case 'code':
      return codeBlock(block.lang, block.text);
    case 'list': {
      const list = block.ordered ? el('ol') : el('ul');
      if (block.ordered && block.start !== 1) list.setAttribute('start', String(block.start));
      for (const item of block.items) list.appendChild(el('li', {}, item.map(renderBlock)));
      return list;
    }
    case 'quote':
      return el('blockquote', {}, block.children.map(renderBlock));
    case 'hr':
      return el('hr');
    case 'table': {
      const cell = (tag: 'th' | 'td', content: Inline[], column: number): HTMLElement => {
        const node = inlines(el(tag), content);
        const align = block.align[column];
        if (align) node.style.textAlign = align;
        return node;
      };
      return el('div', 'md-table', [
        el('table', {}, [
          el('thead', {}, [
            el(
              'tr',
              {},
              block.header.map((content, column) => cell('th', content, column)),
            ),
          ]),
          el(
            'tbody',
            {},
            block.rows.map((row) =>
              el(
                'tr',
                {},
                row.map((content, column) => cell('td', content, column)),
              ),
            ),
          ),
        ]),
      ]);
    }
  }
}

function codeBlock(lang: string, text: string): HTMLElement {
  const code = el('code', { text });
  if (/^[\w+#.-]+$/.test(lang)) code.className = `language-${lang}`;
  const copy = button(
    'md-copy',
    'Copy code',
    () => {
      void copyText(text).then((ok) => {
        copy.textContent = ok ? 'Copied' : 'Copy failed';
        setTimeout(() => (copy.textContent = 'Copy'), 1500);
      });
    },
    ['Copy'],
  );
  return el('div', 'md-code', [
    el('div', 'md-code-bar', [el('span', { text: lang || 'text' }), copy]),
    el('pre', {}, [code]),
  ]);
}

function inlines<T extends HTMLElement>(parent: T, content: Inline[]): T {
  for (const node of content) parent.appendChild(renderInline(node));
  return parent;
}

function renderInline(node: Inline): Node {
  switch (node.type) {
    case 'text':
      return document.createTextNode(node.text);
    case 'code':
      return el('code', { text: node.text });
    case 'strong':
      return inlines(el('strong'), node.children);
    case 'em':
      return inlines(el('em'), node.children);
    case 'del':
      return inlines(el('del'), node.children);
    case 'br':
      return el('br');
    case 'link': {
      const link = inlines(el('a'), node.children);
      link.href = node.href;
      link.target = '_blank';
      link.rel = 'noopener noreferrer nofollow';
      return link;
    }
  }
}
