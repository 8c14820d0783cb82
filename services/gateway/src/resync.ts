import type { Disposable, ResyncReason } from '@ctos/protocol';
import type { Transport } from '@ctos/transport';
import type { GatewayServer, RouteContext } from './types';

/** Tells every socket of this gateway to catch up; `why` is logged. */
export type Resync = (reason: ResyncReason, why: string) => void;

/**
 * Room events emitted while this gateway missed them (the adapter's subscription was
 * down), or terminal attachments the workers dropped (the cluster declared the gateway
 * dead), leave its clients behind, and nothing else tells them. `connection:resync`
 * does, without closing anything: each client catches up by position on the connection
 * it has — terminal attach with its seq, message:sync with its last id, ai:resume with
 * its last index (docs/decisions/0011-blips-without-reconnects.md). Closing every
 * connection instead would turn one Redis failover into a reconnect storm.
 *
 * The hint goes to this gateway's own sockets only (`io.local`: another gateway has its
 * own reason, or none). Called in the tick the subscription is restored, it is queued on
 * each socket before any room event from after the gap. Each call is counted in
 * `resyncs` and logged as one warning with the number of sockets.
 */
export function resynchroniser(
  io: GatewayServer,
  { metrics, logger }: Pick<RouteContext, 'metrics' | 'logger'>,
): Resync {
  return (reason, why) => {
    metrics.resyncs.inc();
    logger.warn({ sockets: io.engine.clientsCount, reason }, `${why}; asking clients to catch up`);
    io.local.emit('connection:resync', { reason });
  };
}

/** Resynchronises after every Redis outage of the room events; disposing stops it. */
export function resyncAfterOutages(transport: Transport, resync: Resync): Disposable {
  const stop = transport.onResubscribed(() =>
    resync('room_events_lost', 'room events may have been missed while Redis was unreachable'),
  );
  return { dispose: () => void stop() };
}
