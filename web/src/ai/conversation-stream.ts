import {
  DisposableStore,
  type AckFail,
  type AiConversationInfo,
  type AiErrorEvent,
  type AiHistoryMessage,
  type AiStreamChunkEvent,
  type AiStreamEndEvent,
  type AiStreamStartEvent,
  type Disposable,
  type ErrorCode,
} from '@ctos/protocol';
import type { SocketChannel } from '../shell/socket-channel';
import { ConversationDirectory } from './conversation-directory';
import type { ConversationEvent } from './conversation-events';
import type { ConversationTurn, TurnStatus } from './conversation-turn';
import { ReplyAssembler } from './reply-assembler';
import { ReplyResumer } from './reply-resumer';
import { newUuid } from './uuid';

/** Failures that may pass if the same message is sent again. */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set(['TIMEOUT', 'UNAVAILABLE', 'RATE_LIMITED', 'UPSTREAM_ERROR']);
/** A new conversation is listed under its first words until the server names it (characters). */
const TITLE_CHARS = 60;
/** Shown on a reply sent while the socket is down. */
const NOT_CONNECTED = 'Not connected. Send again when the connection is back.';

/** Remembers which conversation is open, so that a reload reopens it. Never throws. */
export interface ConversationMemory {
  /** The conversation open last time, if any. */
  load(): string | undefined;
  /** Remembers `id`, or that none is open. */
  save(id: string | undefined): void;
}

/**
 * The assistant's conversations over the socket, without the DOM: the list, the open
 * conversation's turns, sending (`ai:message`), Stop (`ai:cancel`), failures with Retry
 * when `retryable`, and replies put together from their indexed chunks. A streaming reply
 * resumes (`ai:resume`) from its last chunk index after a reconnect or a
 * `connection:resync`, and from the start after a reload. The view listens with
 * {@link onEvent} and reads the state back.
 */
export class ConversationStream implements Disposable {
  private readonly directory = new ConversationDirectory();
  private openId: string | undefined;
  private turnList: ConversationTurn[] = [];
  /** Sends `ai:resume`, one at a time per reply, again after a passing refusal. */
  private readonly resumer: ReplyResumer;
  private loadGeneration = 0;
  /** The open conversation's history has been shown (retried on each connect until it is). */
  private historyLoaded = false;
  private readonly listeners = new Set<(event: ConversationEvent) => void>();
  /** The socket listeners, released by {@link dispose}. */
  private readonly owned = new DisposableStore();

  constructor(
    private readonly channel: SocketChannel,
    private readonly memory: ConversationMemory,
  ) {
    this.owned.add(channel.on('ai:stream:start', (event) => this.onStart(event)));
    this.owned.add(channel.on('ai:stream:chunk', (event) => this.onChunk(event)));
    this.owned.add(channel.on('ai:stream:end', (event) => this.onEnd(event)));
    this.owned.add(channel.on('ai:error', (event) => this.onError(event)));
    // The connection stayed up, but events for it may have been lost: catch up as after a reconnect.
    this.owned.add(channel.on('connection:resync', () => void this.connected(false)));
    this.resumer = this.owned.add(
      new ReplyResumer(channel, {
        finished: (conversationId) => {
          if (conversationId === this.openId) void this.open(conversationId);
        },
        failed: (turn, error) => this.fail(turn, error, false),
        streaming: (turn, conversationId) =>
          conversationId === this.openId && (turn.status === 'streaming' || turn.status === 'pending'),
      }),
    );
    this.openId = memory.load();
  }

  /** The user's conversations, newest first, with any begun here that the server does not list yet. */
  get conversations(): readonly AiConversationInfo[] {
    return this.directory.all;
  }

  /** The open conversation's id; undefined for a new one not sent yet. */
  get currentId(): string | undefined {
    return this.openId;
  }

  /** The open conversation's turns, oldest first. */
  get turns(): readonly ConversationTurn[] {
    return this.turnList;
  }

  /** True while a reply of the open conversation is awaited or being written. */
  get isStreaming(): boolean {
    return this.streamingTurn !== undefined;
  }

  /** True when there is a reply that {@link stop} can stop. */
  get canStop(): boolean {
    return this.streamingTurn !== undefined && this.openId !== undefined;
  }

  /** Calls `listener` on every change until the returned disposable is disposed. */
  onEvent(listener: (event: ConversationEvent) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  }

  /**
   * On every (re)connect and `connection:resync`: the conversation list, then the open
   * conversation — loaded on the first connect, resumed where it stopped on later ones.
   */
  async connected(first: boolean): Promise<void> {
    await this.loadConversations();
    if (!this.openId) return;
    const pendingWithoutId = this.turnList.some((turn) => turn.status === 'pending' && !turn.messageId);
    if (first || !this.historyLoaded || pendingWithoutId) {
      await this.open(this.openId);
      return;
    }
    for (const turn of this.turnList) {
      if (turn.messageId && (turn.status === 'streaming' || turn.status === 'pending')) this.resume(turn);
    }
  }

  /** Opens a new, empty conversation; it gets an id when its first message is sent. */
  newConversation(): void {
    this.loadGeneration += 1;
    this.historyLoaded = true; // nothing to load
    this.openId = undefined;
    this.memory.save(undefined);
    this.turnList = [];
    this.emit({ type: 'new' });
  }

  /** Opens conversation `id` from its history (`ai:history`) and follows a reply still being written. */
  async open(id: string): Promise<void> {
    const generation = ++this.loadGeneration;
    this.historyLoaded = false;
    this.openId = id;
    this.memory.save(id);
    this.emit({ type: 'list' });
    const info = this.directory.find(id);
    this.emit({ type: 'title', title: info?.title ?? '' });
    const response = await this.channel.request('ai:history', { conversation_id: id });
    if (generation !== this.loadGeneration) return;
    if (!response.success) {
      if (response.code === 'NOT_FOUND') {
        this.newConversation(); // gone (or never sent): start afresh
        return;
      }
      this.turnList = [];
      this.emit({ type: 'history-failed', error: response.error, retry: () => void this.open(id) });
      return;
    }
    this.turnList = [];
    this.historyLoaded = true;
    for (const message of response.messages) this.addHistoryTurn(message);
    this.emit({ type: 'history' });
    for (const turn of this.turnList) if (turn.status === 'streaming' && turn.messageId) this.resume(turn);
  }

  /**
   * Sends `raw`, trimmed, as the user's next message of the open conversation (which it
   * begins when none is open). Does nothing when it is blank or a reply is still awaited.
   * A failure shows on the reply's turn; the promise never rejects.
   */
  send(raw: string): Promise<void> {
    return this.submit(raw);
  }

  /**
   * Asks the server to stop the reply being written (`ai:cancel`).
   * @returns the failed acknowledgement, or undefined when it was stopped or nothing was being written.
   */
  async stop(): Promise<AckFail | undefined> {
    if (!this.streamingTurn || !this.openId) return undefined;
    const response = await this.channel.request('ai:cancel', { conversation_id: this.openId });
    return response.success ? undefined : response;
  }

  /** Stops listening to the socket and drops every {@link onEvent} listener; a request in flight ends unheard. */
  dispose(): void {
    void this.owned.dispose();
    this.listeners.clear();
  }

  private get streamingTurn(): ConversationTurn | undefined {
    return this.turnList.find(
      (turn) => turn.role === 'assistant' && (turn.status === 'pending' || turn.status === 'streaming'),
    );
  }

  private emit(event: ConversationEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private async loadConversations(): Promise<void> {
    const response = await this.channel.request('ai:conversations', {});
    if (!response.success) {
      this.emit({ type: 'list-failed', error: response.error });
      return;
    }
    this.directory.replace(response.conversations, this.openId);
    this.emit({ type: 'list' });
  }

  private addHistoryTurn(message: AiHistoryMessage): void {
    const turn: ConversationTurn = {
      role: message.role,
      content: message.content,
      status: message.status,
      messageId: message.message_id,
    };
    if (message.status === 'streaming') turn.assembler = new ReplyAssembler();
    this.turnList.push(turn);
    if (message.role === 'assistant') {
      turn.prompt = [...this.turnList].reverse().find((candidate) => candidate.role === 'user')?.content;
    }
  }

  private addTurn(role: 'user' | 'assistant', content: string, status: TurnStatus): ConversationTurn {
    const turn: ConversationTurn = { role, content, status };
    this.turnList.push(turn);
    this.emit({ type: 'turn-added', turn });
    return turn;
  }

  /** Begins a conversation here: a new id, listed under the first words of its first message. */
  private begin(content: string): string {
    const id = newUuid();
    const title = content.slice(0, TITLE_CHARS);
    this.openId = id;
    this.memory.save(id);
    this.directory.begin(id, title, new Date().toISOString());
    this.emit({ type: 'title', title });
    this.emit({ type: 'list' });
    return id;
  }

  private async submit(raw: string, retryOf?: ConversationTurn): Promise<void> {
    const content = raw.trim();
    if (!content || this.streamingTurn) return;
    const conversationId = this.openId ?? this.begin(content);
    if (!retryOf) this.addTurn('user', content, 'complete');
    const turn = retryOf ?? this.addTurn('assistant', '', 'pending');
    turn.prompt = content;
    turn.content = '';
    turn.status = 'pending';
    turn.assembler = new ReplyAssembler();
    turn.messageId = undefined;
    this.emit({ type: 'sent', turn, retried: retryOf !== undefined });
    if (!this.channel.connected) {
      this.fail(turn, NOT_CONNECTED, true);
      return;
    }
    const response = await this.channel.request('ai:message', { conversation_id: conversationId, content });
    if (!response.success && turn.status === 'pending' && !turn.messageId) {
      this.fail(turn, response.error, RETRYABLE_CODES.has(response.code));
    }
  }

  private fail(turn: ConversationTurn, error: string, retryable: boolean): void {
    turn.status = turn.assembler?.text || turn.content ? 'interrupted' : 'failed';
    const prompt = turn.prompt;
    const retry = retryable && prompt ? () => void this.submit(prompt, turn) : undefined;
    this.emit({ type: 'turn-failed', turn, error, retry });
  }

  /** The turn of reply `messageId`, binding a pending one to it when it is the first word of that reply. */
  private turnFor(conversationId: string, messageId: string): ConversationTurn | undefined {
    if (conversationId !== this.openId) return undefined;
    const known = this.turnList.find((turn) => turn.messageId === messageId);
    if (known) return known;
    const pending = this.turnList.find(
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
      this.emit({ type: 'turn-changed', turn });
    } else if (event.conversation_id === this.openId) {
      void this.open(event.conversation_id); // started in another tab: show its question too
    }
  }

  private onChunk(event: AiStreamChunkEvent): void {
    const turn = this.turnFor(event.conversation_id, event.message_id);
    if (!turn) return;
    if (turn.status === 'pending') turn.status = 'streaming';
    turn.assembler ??= new ReplyAssembler();
    const outcome = turn.assembler.accept(event.index, event.chunk);
    if (outcome === 'gap') this.resume(turn);
    if (outcome !== 'duplicate') this.emit({ type: 'turn-changed', turn });
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
      this.emit({ type: 'turn-changed', turn });
      this.emit({ type: 'streaming' });
    }
    void this.loadConversations(); // the server may have named the conversation
  }

  private onError(event: AiErrorEvent): void {
    const turn =
      (event.conversation_id && event.message_id ? this.turnFor(event.conversation_id, event.message_id) : undefined) ??
      (!event.conversation_id || event.conversation_id === this.openId ? this.streamingTurn : undefined);
    if (event.conversation_id) this.markStreaming(event.conversation_id, undefined);
    if (turn && (turn.status === 'pending' || turn.status === 'streaming'))
      this.fail(turn, event.error, event.retryable);
    else if (!event.conversation_id) this.emit({ type: 'notice', error: event.error });
  }

  private markStreaming(conversationId: string, messageId: string | undefined): void {
    if (this.directory.markStreaming(conversationId, messageId)) this.emit({ type: 'list' });
  }

  /** Asks for the chunks of `turn` after the last one it has (all of them after a reload). */
  private resume(turn: ConversationTurn): void {
    if (this.openId) this.resumer.resume(turn, this.openId);
  }
}
