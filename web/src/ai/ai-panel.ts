import { DisposableStore, type Disposable } from '@ctos/protocol';
import { button, clear, el } from '../dom';
import { addDisposableListener } from '../dom-listener';
import { icon } from '../icons';
import type { Toasts } from '../desktop/toasts';
import { channelOf, type AppSocket } from '../shell/socket-client';
import { ConversationList } from './conversation-list';
import { localConversationMemory } from './conversation-memory';
import type { ConversationEvent } from './conversation-events';
import { ConversationStream } from './conversation-stream';
import { turnText, type ConversationTurn } from './conversation-turn';
import { TurnView } from './turn-view';

/** The message box grows with its text up to this height (px), then scrolls. */
const COMPOSER_MAX_PX = 200;
/** Within this distance of the bottom (px) the transcript follows a growing reply. */
const STICK_TO_BOTTOM_PX = 48;
/** Prompts offered on an empty conversation. */
const SUGGESTIONS = [
  'Explain what `find . -name "*.log" -mtime +7 -delete` does',
  'Write a bash loop that retries a command 5 times',
  'How do I see which process listens on a port?',
];

/**
 * The AI assistant's view: a list of conversations, the transcript of the open one
 * (replies rendered as sanitised Markdown while they stream), a message box, Stop, and
 * inline errors with Retry. What it shows is a {@link ConversationStream}'s state; this
 * class only renders it and turns clicks and keys into the stream's calls.
 */
export class AiPanel implements Disposable {
  readonly element: HTMLElement;
  private readonly stream: ConversationStream;
  /** The view of each turn shown (or shown before a reload of the transcript). */
  private readonly views = new WeakMap<ConversationTurn, TurnView>();
  private readonly dirty = new Set<ConversationTurn>();
  private frame = 0;
  private readonly list = new ConversationList((id) => void this.stream.open(id));
  private readonly heading = el('div', 'ai-heading');
  private readonly transcript = el('div', { className: 'ai-transcript', attrs: { 'aria-live': 'polite' } });
  private readonly input = el('textarea', {
    className: 'ai-input',
    attrs: {
      rows: '1',
      placeholder: 'Message the assistant…',
      'aria-label': 'Message',
    },
  });
  private readonly sendButton: HTMLButtonElement;
  /** The stream, the listeners on it and on the message box, and the pending frame. */
  private readonly owned = new DisposableStore();

  constructor(
    socket: AppSocket,
    private readonly toasts: Toasts,
    storageKey: string,
  ) {
    this.stream = this.owned.add(new ConversationStream(channelOf(socket), localConversationMemory(storageKey)));
    this.sendButton = button('ai-send', 'Send', () => this.onSendButton(), [icon('send')]);
    const newChat = button('primary ai-new', 'New chat', () => this.stream.newConversation(), [
      icon('plus'),
      'New chat',
    ]);
    this.owned.add(
      addDisposableListener(this.input, 'keydown', (event) => {
        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.onSendButton();
        }
      }),
    );
    this.owned.add(addDisposableListener(this.input, 'input', () => this.updateComposer()));
    this.element = el('div', 'ai-panel', [
      el('aside', 'ai-sidebar', [
        newChat,
        el('div', { className: 'ai-list-label', text: 'Recent' }),
        this.list.element,
      ]),
      el('div', 'ai-main', [
        this.heading,
        this.transcript,
        el('div', 'ai-composer', [el('div', 'ai-input-wrap', [this.input, this.sendButton])]),
        el('div', {
          className: 'ai-hint',
          text: 'Enter to send · Shift+Enter for a new line · Check commands before you run them',
        }),
      ]),
    ]);
    this.owned.add(this.stream.onEvent((event) => this.apply(event)));
    this.owned.defer(() => cancelAnimationFrame(this.frame));
    this.renderEmpty();
    this.renderList();
    this.updateComposer();
  }

  /** Focuses the message box. */
  focus(): void {
    this.input.focus();
  }

  /**
   * On every (re)connect: the conversation list, then the open conversation — loaded
   * on the first connect, resumed where it stopped on later ones.
   */
  connected(first: boolean): Promise<void> {
    return this.stream.connected(first);
  }

  /** Releases the stream's socket listeners, the message box's listeners and a pending frame. */
  dispose(): void {
    void this.owned.dispose();
  }

  private apply(event: ConversationEvent): void {
    switch (event.type) {
      case 'list':
        return this.renderList();
      case 'list-failed':
        return this.list.showNote(event.error);
      case 'title':
        this.heading.textContent = event.title || 'Conversation';
        return;
      case 'new':
        this.renderEmpty();
        this.renderList();
        this.updateComposer();
        this.input.focus();
        return;
      case 'history-failed':
        return this.showLoadError(event.error, event.retry);
      case 'history':
        return this.showHistory();
      case 'turn-added':
        if (this.stream.turns.length === 1) clear(this.transcript);
        return this.showTurn(event.turn);
      case 'turn-changed':
        return this.render(event.turn);
      case 'sent':
        return this.onSent(event.turn, event.retried);
      case 'turn-failed':
        this.render(event.turn);
        this.views.get(event.turn)?.showError(event.error, event.retry);
        return this.updateComposer();
      case 'streaming':
        return this.updateComposer();
      case 'notice':
        this.toasts.show({ tone: 'error', title: 'Assistant', body: event.error });
        return;
    }
  }

  private renderList(): void {
    this.list.render(this.stream.conversations, this.stream.currentId);
  }

  private renderEmpty(): void {
    clear(this.transcript);
    this.heading.textContent = 'New conversation';
    this.transcript.appendChild(
      el('div', 'ai-empty', [
        el('div', 'ai-empty-icon', [icon('assistant')]),
        el('h2', { text: 'How can I help?' }),
        el('p', {
          text: 'Ask about commands, scripts or anything on your system. Replies stream in as they are written.',
        }),
        el(
          'div',
          'ai-suggestions',
          SUGGESTIONS.map((text) =>
            button('chip', text, () => {
              this.input.value = text;
              this.updateComposer();
              this.input.focus();
            }),
          ),
        ),
      ]),
    );
  }

  private showLoadError(error: string, retry: () => void): void {
    clear(this.transcript);
    const again = button('ghost small', 'Try again', retry, [icon('retry'), 'Try again']);
    this.transcript.appendChild(el('div', 'ai-load-error', [icon('alert'), el('span', { text: error }), again]));
  }

  private showHistory(): void {
    clear(this.transcript);
    for (const turn of this.stream.turns) this.showTurn(turn);
    if (this.stream.turns.length === 0) this.renderEmpty();
    this.updateComposer();
    this.scrollToBottom(true);
  }

  private showTurn(turn: ConversationTurn): void {
    const view = new TurnView(turn.role);
    view.render(turn.content, turn.status);
    this.views.set(turn, view);
    this.transcript.appendChild(view.element);
  }

  private onSent(turn: ConversationTurn, retried: boolean): void {
    const view = this.views.get(turn);
    if (retried) view?.clearError();
    else this.input.value = '';
    view?.render('', 'pending');
    this.updateComposer();
    this.scrollToBottom(true);
  }

  private onSendButton(): void {
    if (this.stream.isStreaming) void this.stop();
    else void this.stream.send(this.input.value);
  }

  private async stop(): Promise<void> {
    if (!this.stream.canStop) return;
    this.sendButton.disabled = true;
    const failure = await this.stream.stop();
    this.sendButton.disabled = false;
    if (failure) this.toasts.show({ tone: 'error', title: 'Could not stop the reply', body: failure.error });
  }

  /** Re-renders a turn on the next frame: a fast stream costs one Markdown pass per frame. */
  private render(turn: ConversationTurn): void {
    this.dirty.add(turn);
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const follow = this.nearBottom();
      for (const dirty of this.dirty) this.views.get(dirty)?.render(turnText(dirty), dirty.status);
      this.dirty.clear();
      if (follow) this.scrollToBottom(true);
    });
  }

  private nearBottom(): boolean {
    const t = this.transcript;
    return t.scrollHeight - t.scrollTop - t.clientHeight < STICK_TO_BOTTOM_PX;
  }

  private scrollToBottom(force: boolean): void {
    if (force || this.nearBottom()) this.transcript.scrollTop = this.transcript.scrollHeight;
  }

  private updateComposer(): void {
    const streaming = this.stream.isStreaming;
    this.sendButton.replaceChildren(icon(streaming ? 'stop' : 'send'));
    this.sendButton.classList.toggle('stop', streaming);
    const label = streaming ? 'Stop' : 'Send';
    this.sendButton.title = label;
    this.sendButton.setAttribute('aria-label', label);
    this.sendButton.disabled = !streaming && this.input.value.trim() === '';
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, COMPOSER_MAX_PX)}px`;
  }
}
