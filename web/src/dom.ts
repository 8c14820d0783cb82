/**
 * Tiny DOM builders. Every piece of text reaches the page through `textContent` or an
 * attribute, never through `innerHTML`: model replies, message titles and shell titles
 * are untrusted, and any script injection on this page is a shell.
 */

/** A child of {@link el}: a node, a text (set as a text node), or nothing. */
export type Child = Node | string | null | undefined | false;

/** What {@link el} sets besides children. */
export interface ElementOptions {
  /** The `class` attribute (space-separated). */
  className?: string;
  /** Text content (exclusive with children in practice). */
  text?: string;
  /** Tooltip (`title`). */
  title?: string;
  /** Other attributes, set with `setAttribute` (values are never parsed as HTML). */
  attrs?: Record<string, string>;
}

/**
 * Creates an element with a class (or full options) and children.
 * @example el('button', 'primary', ['Send'])
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElementOptions | string = {},
  children: Child[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const opts = typeof options === 'string' ? { className: options } : options;
  if (opts.className) node.className = opts.className;
  if (opts.text !== undefined) node.textContent = opts.text;
  if (opts.title !== undefined) node.title = opts.title;
  for (const [name, value] of Object.entries(opts.attrs ?? {})) node.setAttribute(name, value);
  append(node, children);
  return node;
}

/** Appends children, turning strings into text nodes. */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** Removes every child of `node`. */
export function clear(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** A button with a class, an optional icon, an accessible label and a click handler. */
export function button(
  className: string,
  label: string,
  onClick: (event: MouseEvent) => void,
  content: Child[] = [label],
): HTMLButtonElement {
  const node = el('button', { className, attrs: { type: 'button', 'aria-label': label }, title: label }, content);
  node.addEventListener('click', onClick);
  return node;
}
