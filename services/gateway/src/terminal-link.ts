import type { BusRequest, TerminalBusMessage, TerminalBusReplies } from '@ctos/protocol';
import { busClient, SessionDirectory, type RequestTarget } from '@ctos/transport';
import { TerminalDirectory } from './terminal-directory';
import type { RouteContext } from './types';

/** What the terminal handlers share: the context, the session directory, and the bus to the terminal-workers. */
export interface TerminalLink {
  readonly context: RouteContext;
  readonly directory: TerminalDirectory;
  /**
   * An ordered send to the worker that holds a session, confirmed within `timeoutMs`
   * (default BUS_REQUEST_TIMEOUT_MS). Rejects with `ServiceError` `TIMEOUT` (it may still
   * arrive) or `UNAVAILABLE` (nothing was written).
   */
  send(worker: string, message: TerminalBusMessage, timeoutMs?: number): Promise<void>;
  /**
   * A request to `target`, answered within BUS_REQUEST_TIMEOUT_MS (ms) with the
   * operation's reply. Rejects with the worker's refusal, `TIMEOUT` or `UNAVAILABLE`.
   */
  request<O extends TerminalBusMessage['op']>(
    target: RequestTarget,
    message: BusRequest<TerminalBusMessage, O>,
  ): Promise<TerminalBusReplies[O]>;
}

/** The terminal link of a gateway; the directory is read under the store's `term` namespace. */
export function terminalLink(context: RouteContext): TerminalLink {
  const bus = busClient<TerminalBusMessage, TerminalBusReplies>(context.transport.bus);
  const timeoutMs = context.config.BUS_REQUEST_TIMEOUT_MS;
  return {
    context,
    directory: new TerminalDirectory(new SessionDirectory(context.transport.store, 'term')),
    send: (worker, message, within = timeoutMs) => bus.send(worker, message, { timeoutMs: within }),
    request: (target, message) => bus.request(target, message, { timeoutMs }),
  };
}
