import type { Disposable, ErrorCode } from '@ctos/protocol';
import type { SocketChannel } from '../shell/socket-channel';
import type { ConversationTurn } from './conversation-turn';
import { ReplyAssembler } from './reply-assembler';

/**
 * A resume the server could not answer yet (`TIMEOUT`, or `UNAVAILABLE` while Redis comes
 * back after a `connection:resync`) is tried again after this long (ms), doubling up to
 * the maximum, for as long as the reply streams and the socket stays connected.
 */
const RESUME_RETRY_MS = 1000;
const RESUME_RETRY_MAX_MS = 10_000;
/** Refusals that may pass: the reply is still there, the server could not answer yet. */
const PASSING: ReadonlySet<ErrorCode> = new Set(['TIMEOUT', 'UNAVAILABLE']);

/** What the resumer tells its conversation stream. */
export interface ResumeOutcomes {
  /** The reply ended while the client was away: the stored conversation has the whole of it. */
  finished(conversationId: string): void;
  /** The server refused the resume for good (`NOT_FOUND`…), with its sentence. */
  failed(turn: ConversationTurn, error: string): void;
  /** True while `turn` is still being written in conversation `conversationId`, as the client sees it. */
  streaming(turn: ConversationTurn, conversationId: string): boolean;
}

/**
 * Asks for the chunks of a reply after the last one the client has (`ai:resume`), one
 * request per reply at a time, and again after a passing refusal. The chunks come as
 * `ai:stream:chunk` events, which the conversation stream assembles by index.
 */
export class ReplyResumer implements Disposable {
  /** Message ids with a resume in flight. */
  private readonly resuming = new Set<string>();
  /** Retries waiting, by message id. */
  private readonly retries = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly channel: SocketChannel,
    private readonly outcomes: ResumeOutcomes,
  ) {}

  /** Resumes `turn` of conversation `conversationId` now (a retry waiting for it is replaced). */
  resume(turn: ConversationTurn, conversationId: string, delay = RESUME_RETRY_MS): void {
    const messageId = turn.messageId;
    if (!messageId || this.resuming.has(messageId)) return;
    clearTimeout(this.retries.get(messageId));
    this.retries.delete(messageId);
    this.resuming.add(messageId);
    turn.assembler ??= new ReplyAssembler();
    const since = turn.assembler.lastIndex;
    void this.channel
      .request('ai:resume', {
        conversation_id: conversationId,
        message_id: messageId,
        ...(since >= 0 ? { since } : {}),
      })
      .then((response) => {
        this.resuming.delete(messageId);
        if (!response.success) {
          if (!PASSING.has(response.code)) this.outcomes.failed(turn, response.error);
          else this.retryLater(turn, conversationId, delay);
          return;
        }
        if (response.status !== 'streaming' && this.outcomes.streaming(turn, conversationId)) {
          this.outcomes.finished(conversationId);
        }
      });
  }

  /** Cancels every retry waiting. */
  dispose(): void {
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
  }

  private retryLater(turn: ConversationTurn, conversationId: string, delay: number): void {
    const messageId = turn.messageId!;
    const timer = setTimeout(() => {
      this.retries.delete(messageId);
      // Disconnected: the reconnect resumes it. Ended or closed meanwhile: nothing to resume.
      if (!this.channel.connected || !this.outcomes.streaming(turn, conversationId)) return;
      this.resume(turn, conversationId, Math.min(delay * 2, RESUME_RETRY_MAX_MS));
    }, delay);
    this.retries.set(messageId, timer);
  }
}
