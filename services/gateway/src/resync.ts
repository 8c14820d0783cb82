import type { Disposable } from '@ctos/protocol';
import type { Transport } from '@ctos/transport';
import type { GatewayServer, RouteContext } from './types';

/** Closes every connection of this gateway so its clients resynchronise; `why` is logged. */
export type Resync = (why: string) => void;

/**
 * Room events emitted while this gateway missed them (the adapter's subscription was
 * down, or the cluster declared it dead) never reached its sockets, and nothing tells
 * their clients. Closing the connections does: each client reconnects and resumes by
 * position — terminal attach with its seq, message:sync with its last id, ai:resume
 * with its last index. The transport is closed, not the socket (no DISCONNECT packet):
 * to Socket.IO that is a lost connection, which the client retries by itself with its
 * jittered backoff, so they do not all come back at once. Each resync is counted in
 * `resyncs` and logged as a warning with the number of sockets.
 */
export function resynchroniser(
  io: GatewayServer,
  { metrics, logger }: Pick<RouteContext, 'metrics' | 'logger'>,
): Resync {
  return (why) => {
    metrics.resyncs.inc();
    logger.warn({ sockets: io.engine.clientsCount }, `${why}; closing connections so clients resynchronise`);
    for (const socket of io.of('/').sockets.values()) socket.conn.close();
  };
}

/** Resynchronises after every Redis outage of the room events; disposing stops it. */
export function resyncAfterOutages(transport: Transport, resync: Resync): Disposable {
  const stop = transport.onResubscribed(() => resync('room events may have been missed while Redis was unreachable'));
  return { dispose: () => void stop() };
}
