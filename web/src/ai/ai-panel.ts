import type {
  AiConversationInfo,
  AiErrorEvent,
  AiHistoryMessage,
  AiStreamChunkEvent,
  AiStreamEndEvent,
  AiStreamStartEvent,
  ErrorCode,
} from '@ctos/protocol';
import { button, clear, el } from '../dom';
import { icon } from '../icons';
import type { Toasts } from '../desktop/toasts';
import { request, type AppSocket } from '../shell/socket-client';
import { ConversationList } from './conversation-list';
import { ReplyAssembler } from './reply-assembler';
import { TurnView, type TurnStatus } from './turn-view';
import { newUuid } from './uuid';

/** Failures that may pass if the same message is sent again. */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set(['TIMEOUT', 'UNAVAILABLE', 'RATE_LIMITED', 'UPSTREAM_ERROR']);
/** A new conversation is listed under its first words until the server names it (characters). */
const TITLE_CHARS = 60;
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

interface Turn {
  view: TurnView;
  role: 'user' | 'assistant';
  /** The reply's id, once `ai:stream:start` (or the history) named it. */
  messageId?: string;
  /** Text known from the history (a partial reply when it was still streaming). */
  content: string;
  status: TurnStatus;
  assembler?: ReplyAssembler;
  /** What the user asked, for Retry. */
  prompt?: string;
}

/**
 * The AI assistant: a list of conversations, the transcript of the open one (replies
 * rendered as sanitised Markdown while they stream), a message box, Stop (`ai:cancel`),
 * inline errors with Retry when `retryable`. A streaming reply resumes from its last
 * chunk index after a reconnect, and from the start after a reload.
 */
export class AiPanel {
  readonly element: HTMLElement;
  private conversations: AiConversationInfo[] = [];
  private currentId: string | undefined;
  private turns: Turn[] = [];
  private readonly dirty = new Set<Turn>();
  private frame = 0;
  /** Message ids with an `ai:resume` in flight: one at a time each. */
  private readonly resuming = new Set<string>();
  private loadGeneration = 0;
  /** The open conversation's history has been shown (retried on each connect until it is). */
  private historyLoaded = false;
  private readonly list = new ConversationList((id) => void this.openConversation(id));
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

  constructor(
    private readonly socket: AppSocket,
    private readonly toasts: Toasts,
    private readonly storageKey: string,
  ) {
    this.sendButton = button('ai-send', 'Send', () => this.onSendButton(), [icon('send')]);
    const newChat = button('primary ai-new', 'New chat', () => this.newConversation(), [icon('plus'), 'New chat']);
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.onSendButton();
      }
    });
    this.input.addEventListener('input', () => this.updateComposer());
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
    socket.on('ai:stream:start', (event) => this.onStart(event));
    socket.on('ai:stream:chunk', (event) => this.onChunk(event));
    socket.on('ai:stream:end', (event) => this.onEnd(event));
    socket.on('ai:error', (event) => this.onError(event));
    this.currentId = this.storedCurrent();
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
  async connected(first: boolean): Promise<void> {
    await this.loadConversations();
    if (!this.currentId) return;
    const pendingWithoutId = this.turns.some((turn) => turn.status === 'pending' && !turn.messageId);
    if (first || !this.historyLoaded || pendingWithoutId) {
      await this.openConversation(this.currentId);
      return;
    }
    for (const turn of this.turns) {
      if (turn.messageId && (turn.status === 'streaming' || turn.status === 'pending')) this.resume(turn);
    }
  }

  private get streamingTurn(): Turn | undefined {
    return this.turns.find(
      (turn) => turn.role === 'assistant' && (turn.status === 'pending' || turn.status === 'streaming'),
    );
  }

  private storedCurrent(): string | undefined {
    try {
      return localStorage.getItem(this.storageKey) ?? undefined;
    } catch {
      return undefined; // storage blocked: start with a new conversation
    }
  }

  private storeCurrent(id: string | undefined): void {
    try {
      if (id) localStorage.setItem(this.storageKey, id);
      else localStorage.removeItem(this.storageKey);
    } catch {
      // Storage blocked: only the reopen-after-reload convenience is lost.
    }
  }

  private async loadConversations(): Promise<void> {
    const response = await request(this.socket, 'ai:conversations', {});
    if (!response.success) {
      this.list.showNote(response.error);
      return;
    }
    const local = this.conversations.filter(
      (info) => !response.conversations.some((remote) => remote.conversation_id === info.conversation_id),
    );
    // A conversation begun here whose first message is still on its way is not on the server's list yet.
    this.conversations = [
      ...local.filter((info) => info.conversation_id === this.currentId),
      ...response.conversations,
    ];
    this.renderList();
  }

  private renderList(): void {
    this.list.render(this.conversations, this.currentId);
  }

  private newConversation(): void {
    this.loadGeneration += 1;
    this.historyLoaded = true; // nothing to load
    this.currentId = undefined;
    this.storeCurrent(undefined);
    this.turns = [];
    this.renderEmpty();
    this.renderList();
    this.updateComposer();
    this.input.focus();
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

  /** Shows a conversation from its history and follows a reply still being written. */
  private async openConversation(id: string): Promise<void> {
    const generation = ++this.loadGeneration;
    this.historyLoaded = false;
    this.currentId = id;
    this.storeCurrent(id);
    this.renderList();
    const info = this.conversations.find((candidate) => candidate.conversation_id === id);
    this.heading.textContent = info?.title || 'Conversation';
    const response = await request(this.socket, 'ai:history', { conversation_id: id });
    if (generation !== this.loadGeneration) return;
    if (!response.success) {
      if (response.code === 'NOT_FOUND') {
        this.newConversation(); // gone (or never sent): start afresh
        return;
      }
      clear(this.transcript);
      this.turns = [];
      const retry = button('ghost small', 'Try again', () => void this.openConversation(id), [
        icon('retry'),
        'Try again',
      ]);
      this.transcript.appendChild(
        el('div', 'ai-load-error', [icon('alert'), el('span', { text: response.error }), retry]),
      );
      return;
    }
    clear(this.transcript);
    this.turns = [];
    this.historyLoaded = true;
    for (const message of response.messages) this.addHistoryTurn(message);
    if (this.turns.length === 0) this.renderEmpty();
    this.updateComposer();
    this.scrollToBottom(true);
    for (const turn of this.turns) if (turn.status === 'streaming' && turn.messageId) this.resume(turn);
  }

  private addHistoryTurn(message: AiHistoryMessage): void {
    const turn = this.addTurn(message.role, message.content, message.status);
    turn.messageId = message.message_id;
    if (message.status === 'streaming') turn.assembler = new ReplyAssembler();
    if (message.role === 'assistant') {
      turn.prompt = [...this.turns].reverse().find((candidate) => candidate.role === 'user')?.content;
    }
  }

  private addTurn(role: 'user' | 'assistant', content: string, status: TurnStatus): Turn {
    if (this.turns.length === 0) clear(this.transcript);
    const turn: Turn = { view: new TurnView(role), role, content, status };
    turn.view.render(content, status);
    this.turns.push(turn);
    this.transcript.appendChild(turn.view.element);
    return turn;
  }

  private onSendButton(): void {
    if (this.streamingTurn) void this.stop();
    else void this.send(this.input.value);
  }

  private async send(raw: string, retryOf?: Turn): Promise<void> {
    const content = raw.trim();
    if (!content || this.streamingTurn) return;
    if (!this.currentId) {
      const id = newUuid();
      const now = new Date().toISOString();
      this.currentId = id;
      this.storeCurrent(id);
      this.conversations.unshift({
        conversation_id: id,
        title: content.slice(0, TITLE_CHARS),
        created_at: now,
        updated_at: now,
      });
      this.heading.textContent = content.slice(0, TITLE_CHARS);
      this.renderList();
    }
    const conversationId = this.currentId;
    if (retryOf) {
      retryOf.view.clearError();
    } else {
      this.addTurn('user', content, 'complete');
      this.input.value = '';
    }
    const turn = retryOf ?? this.addTurn('assistant', '', 'pending');
    turn.prompt = content;
    turn.content = '';
    turn.status = 'pending';
    turn.assembler = new ReplyAssembler();
    turn.messageId = undefined;
    turn.view.render('', 'pending');
    this.updateComposer();
    this.scrollToBottom(true);
    if (!this.socket.connected) {
      this.fail(turn, 'Not connected. Send again when the connection is back.', true);
      return;
    }
    const response = await request(this.socket, 'ai:message', { conversation_id: conversationId, content });
    if (!response.success && turn.status === 'pending' && !turn.messageId) {
      this.fail(turn, response.error, RETRYABLE_CODES.has(response.code));
    }
  }

  private async stop(): Promise<void> {
    const turn = this.streamingTurn;
    if (!turn || !this.currentId) return;
    this.sendButton.disabled = true;
    const response = await request(this.socket, 'ai:cancel', { conversation_id: this.currentId });
    this.sendButton.disabled = false;
    if (!response.success) this.toasts.show({ tone: 'error', title: 'Could not stop the reply', body: response.error });
  }

  private fail(turn: Turn, text: string, retryable: boolean): void {
    turn.status = turn.assembler?.text || turn.content ? 'interrupted' : 'failed';
    this.render(turn);
    const prompt = turn.prompt;
    turn.view.showError(text, retryable && prompt ? () => void this.send(prompt, turn) : undefined);
    this.updateComposer();
  }

  /** The turn of reply `messageId`, binding a pending one to it when it is the first word of that reply. */
  private turnFor(conversationId: string, messageId: string): Turn | undefined {
    if (conversationId !== this.currentId) return undefined;
    const known = this.turns.find((turn) => turn.messageId === messageId);
    if (known) return known;
    const pending = this.turns.find(
      (turn) => turn.role === 'assistant' && turn.status === 'pending' && !turn.messageId,
    );
    if (pending) pending.messageId = messageId;
    return pending;
  }

  private onStart(event: AiStreamStartEvent): void {
    this.markStreaming(event.conversation_id, event.message_id);
    const turn = this.turnFor(event.conversation_id, event.message_id);
    if (turn) {
      turn.status = 'streaming';
      turn.assembler ??= new ReplyAssembler();
      this.render(turn);
    } else if (event.conversation_id === this.currentId) {
      void this.openConversation(event.conversation_id); // started in another tab: show its question too
    }
  }

  private onChunk(event: AiStreamChunkEvent): void {
    const turn = this.turnFor(event.conversation_id, event.message_id);
    if (!turn) return;
    if (turn.status === 'pending') turn.status = 'streaming';
    turn.assembler ??= new ReplyAssembler();
    const outcome = turn.assembler.accept(event.index, event.chunk);
    if (outcome === 'gap') this.resume(turn);
    if (outcome !== 'duplicate') this.render(turn);
  }

  private onEnd(event: AiStreamEndEvent): void {
    this.markStreaming(event.conversation_id, undefined);
    const turn = this.turnFor(event.conversation_id, event.message_id);
    if (turn) {
      turn.status =
        event.stop_reason === 'cancelled'
          ? 'cancelled'
          : event.stop_reason === 'interrupted'
            ? 'interrupted'
            : 'complete';
      this.render(turn);
      this.updateComposer();
    }
    void this.loadConversations(); // the server may have named the conversation
  }

  private onError(event: AiErrorEvent): void {
    const turn =
      (event.conversation_id && event.message_id ? this.turnFor(event.conversation_id, event.message_id) : undefined) ??
      (!event.conversation_id || event.conversation_id === this.currentId ? this.streamingTurn : undefined);
    if (event.conversation_id) this.markStreaming(event.conversation_id, undefined);
    if (turn && (turn.status === 'pending' || turn.status === 'streaming'))
      this.fail(turn, event.error, event.retryable);
    else if (!event.conversation_id) this.toasts.show({ tone: 'error', title: 'Assistant', body: event.error });
  }

  private markStreaming(conversationId: string, messageId: string | undefined): void {
    const info = this.conversations.find((candidate) => candidate.conversation_id === conversationId);
    if (!info || info.streaming_message_id === messageId) return;
    if (messageId) info.streaming_message_id = messageId;
    else delete info.streaming_message_id;
    this.renderList();
  }

  /** Asks for the chunks of `turn` after the last one it has (all of them after a reload). */
  private resume(turn: Turn): void {
    const messageId = turn.messageId;
    const conversationId = this.currentId;
    if (!messageId || !conversationId || this.resuming.has(messageId)) return;
    this.resuming.add(messageId);
    turn.assembler ??= new ReplyAssembler();
    const since = turn.assembler.lastIndex;
    void request(this.socket, 'ai:resume', {
      conversation_id: conversationId,
      message_id: messageId,
      ...(since >= 0 ? { since } : {}),
    }).then((response) => {
      this.resuming.delete(messageId);
      if (!response.success) {
        if (response.code !== 'TIMEOUT') this.fail(turn, response.error, false);
        return; // a timeout: the next reconnect resumes again
      }
      if (response.status !== 'streaming' && (turn.status === 'streaming' || turn.status === 'pending')) {
        // It finished while we were away: the stored reply is the whole of it.
        if (conversationId === this.currentId) void this.openConversation(conversationId);
      }
    });
  }

  /** Re-renders a turn on the next frame: a fast stream costs one Markdown pass per frame. */
  private render(turn: Turn): void {
    this.dirty.add(turn);
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const follow = this.nearBottom();
      for (const dirty of this.dirty) {
        const assembled = dirty.assembler?.text ?? '';
        // After a reload the history's partial text shows until the resumed chunks pass it.
        const text = assembled.length >= dirty.content.length ? assembled : dirty.content;
        dirty.view.render(text, dirty.status);
      }
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
    const streaming = this.streamingTurn !== undefined;
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
