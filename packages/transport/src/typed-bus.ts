import type { BusHandlers, BusMessage, BusReplies, BusRequest } from '@ctos/protocol';
import type { Bus, RequestOptions, RequestTarget } from './types';

/**
 * One family's typed view of a {@link Bus} (the gateway's side): a request answers with
 * its operation's reply type from the family's map (`TerminalBusReplies`…), so no call
 * site names a reply type by hand, and a worker that changes a reply shape breaks the
 * gateway's build, not its run.
 */
export interface BusClient<M extends BusMessage, R extends BusReplies<M>> {
  /** See {@link Bus.request}: rejects with `ServiceError` `TIMEOUT`, `UNAVAILABLE` or the worker's refusal. */
  request<O extends M['op']>(target: RequestTarget, message: BusRequest<M, O>, options?: RequestOptions): Promise<R[O]>;
  /** See {@link Bus.send}: an ordered send to the worker that owns a session. */
  send(worker: string, message: M, options?: RequestOptions): Promise<void>;
}

/** The typed client of family `M`/`R` over `bus`. */
export function busClient<M extends BusMessage, R extends BusReplies<M>>(bus: Bus): BusClient<M, R> {
  return {
    request: <O extends M['op']>(target: RequestTarget, message: BusRequest<M, O>, options?: RequestOptions) =>
      bus.request<R[O]>(target, message, options),
    send: (worker, message, options) => bus.send(worker, message, options),
  };
}

/**
 * The worker's side: runs the handler of `message.op` from a table that has one per
 * operation (a missing operation, or a reply of the wrong shape, is a compile error).
 * `message` has been validated against the family's schema.
 */
export function dispatchBus<M extends BusMessage, R extends BusReplies<M>>(
  handlers: BusHandlers<M, R>,
  message: M,
): R[M['op']] | Promise<R[M['op']]> {
  // The table is keyed by the same union `message` belongs to: TypeScript cannot
  // correlate the two, so this is the one cast.
  const handler = handlers[message.op as M['op']] as (m: M) => R[M['op']] | Promise<R[M['op']]>;
  return handler(message);
}
