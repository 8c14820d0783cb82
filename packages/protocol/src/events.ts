import type { ErrorCode } from './errors';
import type { AckCallback } from './ack';
import {
  aiConversationRefSchema,
  aiMessageSchema,
  aiResumeSchema,
  type AiConversationInfo,
  type AiConversationRef,
  type AiErrorEvent,
  type AiHistoryMessage,
  type AiMessagePayload,
  type AiResumePayload,
  type AiResumeResult,
  type AiStreamChunkEvent,
  type AiStreamEndEvent,
  type AiStreamStartEvent,
} from './ai';
import { emptySchema } from './common';
import type { ResyncEvent } from './connection';
import {
  messageListSchema,
  messageReadSchema,
  messageSyncSchema,
  type MessageItem,
  type MessageListPayload,
  type MessageListResult,
  type MessageReadPayload,
  type MessageReadResult,
  type MessageSyncPayload,
  type MessageSyncResult,
  type MessageUnreadCountEvent,
} from './message';
import {
  terminalAckSchema,
  terminalAttachSchema,
  terminalCreateSchema,
  terminalInputSchema,
  terminalListSchema,
  terminalResizeSchema,
  terminalSessionRefSchema,
  type TerminalAckPayload,
  type TerminalAttachPayload,
  type TerminalAttachResult,
  type TerminalClosedEvent,
  type TerminalCreatePayload,
  type TerminalCreateResult,
  type TerminalErrorEvent,
  type TerminalInputPayload,
  type TerminalListPayload,
  type TerminalOutputEvent,
  type TerminalReconnectResult,
  type TerminalRecordingInfo,
  type TerminalResizePayload,
  type TerminalSessionInfo,
  type TerminalSessionRef,
} from './terminal';

/**
 * Client→server events. The last parameter is the acknowledgement callback; where it is
 * optional, a failure without one is reported by the matching `*:error` event instead.
 * Used as the first type argument of the gateway's `Server` and the client's `Socket`.
 */
export interface ClientToServerEvents {
  'terminal:create': (payload: TerminalCreatePayload, ack: AckCallback<TerminalCreateResult>) => void;
  'terminal:input': (payload: TerminalInputPayload, ack?: AckCallback) => void;
  'terminal:resize': (payload: TerminalResizePayload, ack?: AckCallback) => void;
  'terminal:close': (payload: TerminalSessionRef, ack?: AckCallback) => void;
  'terminal:attach': (payload: TerminalAttachPayload, ack: AckCallback<TerminalAttachResult>) => void;
  'terminal:ack': (payload: TerminalAckPayload, ack?: AckCallback) => void;
  'terminal:list': (payload: TerminalListPayload, ack: AckCallback<{ sessions: TerminalSessionInfo[] }>) => void;
  'terminal:reconnect': (payload: TerminalSessionRef, ack: AckCallback<TerminalReconnectResult>) => void;
  /** The caller's recordings, newest first (issue 19). */
  'terminal:recordings': (
    payload: Record<string, never> | undefined,
    ack: AckCallback<{ recordings: TerminalRecordingInfo[] }>,
  ) => void;

  'ai:message': (payload: AiMessagePayload, ack?: AckCallback<{ message_id: string }>) => void;
  'ai:cancel': (payload: AiConversationRef, ack?: AckCallback) => void;
  'ai:resume': (payload: AiResumePayload, ack?: AckCallback<AiResumeResult>) => void;
  'ai:conversations': (
    payload: Record<string, never> | undefined,
    ack: AckCallback<{ conversations: AiConversationInfo[] }>,
  ) => void;
  'ai:history': (
    payload: AiConversationRef,
    ack: AckCallback<{ conversation_id: string; messages: AiHistoryMessage[] }>,
  ) => void;

  'message:read': (payload: MessageReadPayload, ack?: AckCallback<MessageReadResult>) => void;
  'message:sync': (payload: MessageSyncPayload, ack: AckCallback<MessageSyncResult>) => void;
  'message:list': (payload: MessageListPayload, ack: AckCallback<MessageListResult>) => void;
}

/** Server→client events. Used as the second type argument of `Server` and client `Socket`. */
export interface ServerToClientEvents {
  'terminal:output': (event: TerminalOutputEvent) => void;
  'terminal:closed': (event: TerminalClosedEvent) => void;
  'terminal:error': (event: TerminalErrorEvent) => void;

  'ai:stream:start': (event: AiStreamStartEvent) => void;
  'ai:stream:chunk': (event: AiStreamChunkEvent) => void;
  'ai:stream:end': (event: AiStreamEndEvent) => void;
  'ai:error': (event: AiErrorEvent) => void;

  'message:new': (event: MessageItem) => void;
  'message:unread_count': (event: MessageUnreadCountEvent) => void;
  'message:error': (event: { code: ErrorCode; error: string }) => void;

  /** Events for this connection may have been lost: catch up by position (see `resyncEventSchema`). */
  'connection:resync': (event: ResyncEvent) => void;
}

/** Names of the client→server events. */
export type ClientEventName = keyof ClientToServerEvents;

/** Names of the server→client events. */
export type ServerEventName = keyof ServerToClientEvents;

/**
 * The runtime schema of every client→server payload. Objects are strict: a field the
 * event does not define is refused (`INVALID_PAYLOAD` naming it), so a typo is caught
 * and keys such as `__proto__` never travel further. The gateway validates each event
 * against this table before anything else sees it; an event missing here is unknown.
 */
export const CLIENT_EVENT_SCHEMAS = {
  'terminal:create': terminalCreateSchema,
  'terminal:input': terminalInputSchema,
  'terminal:resize': terminalResizeSchema,
  'terminal:close': terminalSessionRefSchema,
  'terminal:attach': terminalAttachSchema,
  'terminal:ack': terminalAckSchema,
  'terminal:list': terminalListSchema,
  'terminal:reconnect': terminalSessionRefSchema,
  'terminal:recordings': emptySchema,
  'ai:message': aiMessageSchema,
  'ai:cancel': aiConversationRefSchema,
  'ai:resume': aiResumeSchema,
  'ai:conversations': emptySchema,
  'ai:history': aiConversationRefSchema,
  'message:read': messageReadSchema,
  'message:sync': messageSyncSchema,
  'message:list': messageListSchema,
} as const satisfies Record<ClientEventName, unknown>;

/** The `*:error` event that reports a failure of an event sent without an ack callback. */
export function errorEventFor(event: ClientEventName): 'terminal:error' | 'ai:error' | 'message:error' {
  if (event.startsWith('terminal:')) return 'terminal:error';
  if (event.startsWith('ai:')) return 'ai:error';
  return 'message:error';
}

/** The payload type a client→server event carries. */
export type ClientPayload<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[0];
