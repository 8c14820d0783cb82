import { z } from 'zod';

/**
 * Why a gateway asks its clients to catch up (`connection:resync`): a closed set.
 */
export const RESYNC_REASONS = [
  /**
   * The gateway's subscription to the cluster's room events was cut (Redis restarted,
   * failed over, or reset its pub/sub connections): terminal output, reply chunks and
   * messages emitted meanwhile never reached this connection.
   */
  'room_events_lost',
  /**
   * The cluster declared this gateway dead while it was alive (stalled, or cut off from
   * Redis): the workers dropped its connections' terminal attachments, and room events
   * may have been missed too.
   */
  'gateway_declared_dead',
] as const;
export type ResyncReason = (typeof RESYNC_REASONS)[number];

/**
 * `connection:resync` (server→client): the connection stays up, but events for it may
 * have been lost. The client catches up by position, exactly as after a reconnect:
 * `terminal:attach` with `since` its last `seq` for every terminal it shows,
 * `message:sync` from the last message id it has, and `ai:resume` from the last chunk
 * index of every reply still streaming. It is sent before any event from after the gap,
 * so a client that starts holding live output when it hears it never renders past a
 * gap. A client that ignores it keeps working and only misses what was lost.
 */
export const resyncEventSchema = z.strictObject({
  reason: z.enum(RESYNC_REASONS),
});
export type ResyncEvent = z.output<typeof resyncEventSchema>;
