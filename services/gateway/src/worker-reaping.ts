import type { Disposable } from '@ctos/protocol';
import type { WorkerKind } from '@ctos/transport';
import type { RouteContext } from './types';

/**
 * How long the claim on reaping a dead worker lasts (ms): long enough that the other
 * gateways, hearing the same death at the same moment, find it taken; short enough that
 * the same worker id dying again (after a false death and a rejoin) is reaped again.
 */
const REAP_CLAIM_TTL_MS = 60 * 1000;

/** What a route module does when a worker of its kind dies. */
export interface Reaping {
  kind: WorkerKind;
  /** The store key claimed (set if absent, for REAP_CLAIM_TTL_MS) by the one gateway that reaps `worker`. */
  claimKey(worker: string): string;
  /** Runs on every gateway as soon as it hears of the death, before the claim. */
  heard?(worker: string): void;
  /** Runs on the gateway that won the claim: tells the clients what the worker held. */
  reap(worker: string): Promise<void>;
  /** The error line logged (with `err` and `worker`) when reaping fails. */
  failed: string;
}

/**
 * Listens for the deaths of `reaping.kind` workers in the registry; every gateway hears
 * each death, and exactly one (the first to claim it in the store) reaps it. Disposing
 * stops listening; a reap under way runs to its end.
 */
export function reapDeadWorkers(context: RouteContext, reaping: Reaping): Disposable {
  const { transport, gatewayId, logger } = context;
  const stop = transport.registry.onDeath((dead) => {
    if (dead.kind !== reaping.kind) return;
    reaping.heard?.(dead.id);
    void (async () => {
      const claimKey = reaping.claimKey(dead.id);
      const claimed = await transport.store.set(claimKey, gatewayId, { nx: true, ttlMs: REAP_CLAIM_TTL_MS });
      if (claimed) await reaping.reap(dead.id);
    })().catch((error: unknown) => logger.error({ err: error, worker: dead.id }, reaping.failed));
  });
  return { dispose: () => void stop() };
}
