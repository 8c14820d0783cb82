import {
  ackFail,
  ackOk,
  CLIENT_EVENT_SCHEMAS,
  errorEventFor,
  ServiceError,
  type AckResponse,
  type ClientEventName,
  type Disposable,
  type ErrorCode,
} from '@ctos/protocol';
import type { z } from 'zod';
import type { GatewaySocket, RouteContext } from './types';

/** The parsed payload of a client event. */
export type ParsedPayload<E extends ClientEventName> = z.output<(typeof CLIENT_EVENT_SCHEMAS)[E]>;

/**
 * What a handler returns: the acknowledgement data, and work to do right after the
 * acknowledgement is on its way (e.g. let held terminal output flow).
 */
export interface Outcome {
  data?: object;
  after?: () => void;
}

type AnyAck = (response: AckResponse<object>) => void;

/**
 * A refusal that an earlier one has already told the client about (input queued behind
 * a keystroke that could not be sent): it answers its own ack, but sends no `*:error`
 * event of its own, so a burst of refused keystrokes is reported once, not per key.
 */
export class ReportedRefusal extends ServiceError {}

/** Events that come with every keystroke or rendered chunk; each has a limit of its own. */
const STREAM_EVENTS: ReadonlySet<ClientEventName> = new Set(['terminal:input', 'terminal:resize', 'terminal:ack']);

/**
 * Wires one client event: validates the payload against the protocol's schema, runs
 * the handler, and answers through the ack callback — or, when the client sent none,
 * reports a failure with the matching `*:error` event. Handler errors that are not a
 * `ServiceError` are logged and answered as `INTERNAL`, never with their text. Disposing
 * the result removes the listener.
 */
export function bindEvent<E extends ClientEventName>(
  socket: GatewaySocket,
  context: RouteContext,
  event: E,
  handler: (payload: ParsedPayload<E>) => Outcome | void | Promise<Outcome | void>,
): Disposable {
  const schema = CLIENT_EVENT_SCHEMAS[event] as z.ZodType;
  const listener = (...args: unknown[]): void => {
    const last = args[args.length - 1];
    const ack = typeof last === 'function' ? (last as AnyAck) : undefined;
    const raw = ack ? args.slice(0, -1)[0] : args[0];
    const fail = (code: ErrorCode, message: string, sessionId?: unknown, reported = false): void => {
      context.metrics.events.inc({ event, outcome: code });
      if (ack) {
        ack(ackFail(code, message));
        return;
      }
      if (reported) return;
      const family = errorEventFor(event);
      if (family === 'terminal:error') {
        socket.emit('terminal:error', {
          ...(typeof sessionId === 'string' ? { session_id: sessionId } : {}),
          code,
          error: message,
        });
      } else if (family === 'ai:error') {
        const conversationId = (raw as { conversation_id?: unknown } | undefined)?.conversation_id;
        socket.emit('ai:error', {
          ...(typeof conversationId === 'string' ? { conversation_id: conversationId } : {}),
          code,
          error: message,
          retryable: code === 'TIMEOUT' || code === 'UNAVAILABLE' || code === 'RATE_LIMITED',
        });
      } else {
        socket.emit('message:error', { code, error: message });
      }
    };
    if (!STREAM_EVENTS.has(event) && !socket.data.requests.take()) {
      fail('RATE_LIMITED', 'Too many requests from this connection; slow down and try again.');
      return;
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? ` (${issue.path.join('.')}: ${issue.message})` : '';
      fail('INVALID_PAYLOAD', `The ${event} payload is not valid${where}.`);
      return;
    }
    const sessionId = (parsed.data as { session_id?: unknown } | undefined)?.session_id;
    let pending: Outcome | void | Promise<Outcome | void>;
    try {
      pending = handler(parsed.data as ParsedPayload<E>);
    } catch (error) {
      report(error);
      return;
    }
    Promise.resolve(pending).then((outcome) => {
      context.metrics.events.inc({ event, outcome: 'ok' });
      ack?.(ackOk(outcome?.data ?? {}));
      outcome?.after?.();
    }, report);

    function report(error: unknown): void {
      if (error instanceof ServiceError) {
        fail(error.code, error.message, sessionId, error instanceof ReportedRefusal);
        return;
      }
      context.logger.error({ err: error, event, user_id: socket.data.user }, 'event handler failed');
      fail('INTERNAL', 'Something went wrong on our side; it has been logged.', sessionId);
    }
  };
  socket.on(event as never, listener as never);
  return { dispose: () => void socket.off(event as never, listener as never) };
}

/**
 * Answers events nobody handles: one the protocol does not know gets `INVALID_PAYLOAD`;
 * a known one whose service this gateway was not composed with gets `UNAVAILABLE`.
 * Without an ack there is nobody to tell, and the event is dropped. Disposing the result
 * removes the listener.
 */
export function refuseUnknownEvents(socket: GatewaySocket, context: RouteContext): Disposable {
  const listener = (event: unknown, ...args: unknown[]): void => {
    const known = typeof event === 'string' && Object.hasOwn(CLIENT_EVENT_SCHEMAS, event);
    if (known && socket.listeners(event as never).length > 0) return;
    const code: ErrorCode = known ? 'UNAVAILABLE' : 'INVALID_PAYLOAD';
    context.metrics.events.inc({ event: known ? (event as string) : 'unknown', outcome: code });
    const last = args[args.length - 1];
    if (typeof last !== 'function') return;
    const name = JSON.stringify(String(event)).slice(0, 80);
    (last as AnyAck)(ackFail(code, known ? `${name} is not available on this server.` : `Unknown event ${name}.`));
  };
  socket.onAny(listener);
  return { dispose: () => void socket.offAny(listener) };
}
