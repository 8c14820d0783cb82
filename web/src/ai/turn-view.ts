import { button, clear, el } from '../dom';
import { icon } from '../icons';
import type { TurnStatus } from './conversation-turn';
import { parseMarkdown } from './markdown';
import { renderMarkdown } from './markdown-dom';

const STATUS_NOTES: Partial<Record<TurnStatus, string>> = {
  cancelled: 'Stopped',
  interrupted: 'Interrupted — the reply did not finish',
};

/**
 * One turn of the transcript. A user's words are shown as typed (text); an assistant's
 * reply as sanitised Markdown, with a caret while it streams and a note when it was
 * stopped, interrupted or failed.
 */
export class TurnView {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly footer: HTMLElement;

  constructor(readonly role: 'user' | 'assistant') {
    this.body = el('div', role === 'assistant' ? 'turn-body markdown' : 'turn-body');
    this.footer = el('div', 'turn-footer');
    const avatar = el('div', 'turn-avatar', [role === 'assistant' ? icon('assistant') : 'You']);
    this.element = el('article', `turn turn-${role}`, [
      avatar,
      el('div', 'turn-main', [
        el('div', { className: 'turn-name', text: role === 'assistant' ? 'Assistant' : 'You' }),
        this.body,
        this.footer,
      ]),
    ]);
  }

  /** Shows `text` in `status`. Assistant text is parsed as Markdown and built as DOM nodes. */
  render(text: string, status: TurnStatus): void {
    this.element.dataset.status = status;
    clear(this.body);
    if (this.role === 'user') {
      this.body.textContent = text;
      return;
    }
    if (status === 'pending' && !text) {
      this.body.appendChild(el('div', 'typing', [el('span'), el('span'), el('span')]));
      return;
    }
    this.body.appendChild(renderMarkdown(parseMarkdown(text)));
    if (status === 'streaming' || status === 'pending') {
      caretHost(this.body).appendChild(el('span', 'caret'));
    }
    const note = STATUS_NOTES[status];
    const existing = this.footer.querySelector('.turn-note');
    if (note && !existing) this.footer.prepend(el('span', { className: 'turn-note', text: note }));
    if (!note) existing?.remove();
  }

  /** Shows an error under the turn, with a Retry button when `retry` is given. */
  showError(text: string, retry?: () => void): void {
    this.clearError();
    this.footer.appendChild(
      el('div', 'turn-error', [
        icon('alert'),
        el('span', { text }),
        retry ? button('ghost small', 'Retry', retry, [icon('retry'), 'Retry']) : null,
      ]),
    );
  }

  clearError(): void {
    this.footer.querySelector('.turn-error')?.remove();
  }
}

/** The innermost last text block (paragraph, heading, list item) where a caret reads naturally. */
function caretHost(body: HTMLElement): Element {
  let target = body.lastElementChild;
  while (target && /^(UL|OL|LI|BLOCKQUOTE)$/.test(target.tagName) && target.lastElementChild) {
    if (target.tagName === 'LI' && !/^(UL|OL|BLOCKQUOTE|P)$/.test(target.lastElementChild.tagName)) break;
    target = target.lastElementChild;
  }
  return target && /^(P|H\d|LI)$/.test(target.tagName) ? target : body;
}
