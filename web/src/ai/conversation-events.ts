import type { ConversationTurn } from './conversation-turn';

/** What changed in a conversation stream (`ConversationStream`), for its view. Turns are the stream's own objects. */
export type ConversationEvent =
  /** The conversation list, an entry of it, or which one is open changed. */
  | { type: 'list' }
  /** The list could not be loaded; `error` is a sentence for people. */
  | { type: 'list-failed'; error: string }
  /** The open conversation's title ('' while it has none). */
  | { type: 'title'; title: string }
  /** A new, empty conversation is open (New chat, or the open one no longer exists). */
  | { type: 'new' }
  /** The open conversation's history could not be loaded; `retry` asks again. */
  | { type: 'history-failed'; error: string; retry: () => void }
  /** The open conversation's turns were replaced by its history (possibly none). */
  | { type: 'history' }
  /** A turn was added after the others. */
  | { type: 'turn-added'; turn: ConversationTurn }
  /** A turn's text or status changed. */
  | { type: 'turn-changed'; turn: ConversationTurn }
  /** A message went out; `turn` is its reply, pending: a new turn, or a failed one sent again (`retried`). */
  | { type: 'sent'; turn: ConversationTurn; retried: boolean }
  /** A reply failed (its status says whether some of it came); `retry`, when given, sends its question again. */
  | { type: 'turn-failed'; turn: ConversationTurn; error: string; retry: (() => void) | undefined }
  /** A reply started or stopped being written. */
  | { type: 'streaming' }
  /** An assistant failure that belongs to no conversation. */
  | { type: 'notice'; error: string };
