import type { ReplyAssembler } from './reply-assembler';

/** Where a turn stands, as the transcript shows it. */
export type TurnStatus = 'pending' | 'streaming' | 'complete' | 'cancelled' | 'interrupted' | 'failed';

/**
 * One turn of the open conversation. The conversation stream writes it; its view reads it
 * (and may key its own nodes by the object: a turn keeps its identity across a retry).
 */
export interface ConversationTurn {
  readonly role: 'user' | 'assistant';
  /** The reply's id, once `ai:stream:start` (or the history) named it. */
  messageId?: string;
  /** Text known from the history (a partial reply when it was still streaming). */
  content: string;
  status: TurnStatus;
  /** The streamed chunks put back in order, for a reply that streams (or streamed) here. */
  assembler?: ReplyAssembler;
  /** What the user asked, for Retry. */
  prompt?: string;
}

/**
 * The text to show for `turn`: the streamed text, except after a reload, where the
 * history's partial text shows until the resumed chunks pass it.
 */
export function turnText(turn: ConversationTurn): string {
  const assembled = turn.assembler?.text ?? '';
  return assembled.length >= turn.content.length ? assembled : turn.content;
}
