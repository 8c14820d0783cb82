/**
 * The shape every bus family shares (terminal, AI, messages): requests are a union
 * discriminated by `op`, and each operation has one reply type (`void` for ordered sends,
 * whose return is ignored). Gateways call {@link BusClient}s and workers implement
 * {@link BusHandlers} of the same family, so a reply of the wrong shape is a compile error
 * on both sides.
 */

/** A family's requests: each a member discriminated by `op`. */
export interface BusMessage {
  op: string;
}

/** One reply type per operation of `M`. */
export type BusReplies<M extends BusMessage> = { [O in M['op']]: unknown };

/** The request of operation `O`. */
export type BusRequest<M extends BusMessage, O extends M['op']> = Extract<M, { op: O }>;

/**
 * The worker's side: one function per operation, answering with that operation's reply
 * (or a promise of it). A thrown `ServiceError` is a refusal with its code.
 */
export type BusHandlers<M extends BusMessage, R extends BusReplies<M>> = {
  [O in M['op']]: (message: BusRequest<M, O>) => R[O] | Promise<R[O]>;
};
