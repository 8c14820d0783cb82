import { CLIENT_EVENT_SCHEMAS, type ErrorCode } from '@ctos/protocol';
import { accepts, type Schema } from './fuzz-schema-bounds';

/** What the test created before the fuzz, for the fuzzing user and for another one. */
export interface Knowledge {
  own: UserThings;
  other: UserThings;
  /** TERMINAL_MAX_INPUT_BYTES of the system under test. */
  maxInputBytes: number;
}

/** One user's ids. */
export interface UserThings {
  sessions: string[];
  conversations: string[];
  /** Ids of the AI replies in those conversations. */
  replies: string[];
  /** Message ids, oldest first. */
  messageIds: number[];
}

/** The answer an event must get: success, or a refusal with exactly this code. */
export type Outcome = { success: true } | { success: false; code: ErrorCode };

/** A payload that is valid and would act on the user's own things: not a case for a test of "changes nothing". */
export const CHANGES_STATE = 'changes-state';

const refused = (code: ErrorCode): Outcome => ({ success: false, code });
const OK: Outcome = { success: true };

/** True for an event name the protocol defines. */
export const isKnownEvent = (event: string): event is keyof typeof CLIENT_EVENT_SCHEMAS =>
  Object.hasOwn(CLIENT_EVENT_SCHEMAS, event);

/**
 * What `event` with the decoded payload `raw` must answer, by the README: an unknown
 * event and a payload its schema refuses get `INVALID_PAYLOAD`; a valid payload gets
 * what its event documents for ids that are not the user's (`NOT_FOUND`, also for
 * another user's), `LIMIT_EXCEEDED` for input over the byte limit, or success for the
 * events that only read. A valid payload that would change the user's own state is
 * {@link CHANGES_STATE}, and so is a valid payload of an event this oracle does not know
 * yet (its invalid payloads are still checked).
 */
export function expectedOutcome(event: string, raw: unknown, knowledge: Knowledge): Outcome | typeof CHANGES_STATE {
  if (!isKnownEvent(event)) return refused('INVALID_PAYLOAD');
  if (!accepts(CLIENT_EVENT_SCHEMAS[event] as Schema, raw)) return refused('INVALID_PAYLOAD');
  return validOutcome(event, (raw ?? {}) as Record<string, unknown>, knowledge);
}

function validOutcome(
  event: keyof typeof CLIENT_EVENT_SCHEMAS,
  payload: Record<string, unknown>,
  { own, other, maxInputBytes }: Knowledge,
): Outcome | typeof CHANGES_STATE {
  const ownSession = own.sessions.includes(payload.session_id as string);
  const ownConversation = own.conversations.includes(payload.conversation_id as string);
  switch (event) {
    case 'terminal:list':
    case 'ai:conversations':
    case 'message:sync':
    case 'message:list':
      return OK;
    case 'ai:history':
      return ownConversation ? OK : refused('NOT_FOUND');
    case 'terminal:input':
      // The size limit is checked before the session: over it, nothing reaches any shell.
      if (Buffer.byteLength(payload.data as string, 'utf8') > maxInputBytes) return refused('LIMIT_EXCEEDED');
      return ownSession ? CHANGES_STATE : refused('NOT_FOUND');
    case 'terminal:resize':
    case 'terminal:close':
    case 'terminal:attach':
    case 'terminal:ack':
    case 'terminal:reconnect':
      return ownSession ? CHANGES_STATE : refused('NOT_FOUND');
    case 'ai:cancel':
    case 'ai:resume':
      return ownConversation ? CHANGES_STATE : refused('NOT_FOUND');
    case 'ai:message':
      // A conversation id nobody has used starts a conversation: only another user's is refused.
      return other.conversations.includes(payload.conversation_id as string) ? refused('NOT_FOUND') : CHANGES_STATE;
    case 'message:read': {
      const id = (payload.message_id ?? payload.up_to) as number | undefined;
      const latest = Math.max(0, ...own.messageIds);
      return id !== undefined && id > latest ? refused('NOT_FOUND') : CHANGES_STATE;
    }
    default:
      return CHANGES_STATE;
  }
}
