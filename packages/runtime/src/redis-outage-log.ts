import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The hooks a Redis transport calls (the shape of its `observer`), without importing it. */
export interface RedisOutageHooks {
  onDown(name: string, error: Error): void;
  onUp(name: string, outageMs?: number): void;
  onEmitError(error: unknown, first: boolean): void;
}

/**
 * Logs and counts a process's Redis outages: one `redis unreachable` error line when
 * Redis stops answering (any connection lost, or calls unanswered), one `redis reachable
 * again` line with the outage's length when everything is back, and one `room emit
 * failed` warning per outage however many emits fail. Metrics:
 * `ctos_redis_up` (1 or 0), `ctos_redis_outages_total`, `ctos_room_emit_failures_total`.
 */
export function redisOutageLog(logger: Logger, metrics: Registry): RedisOutageHooks {
  const up = new Gauge({
    name: 'ctos_redis_up',
    help: '1 while Redis answers, 0 during an outage.',
    registers: [metrics],
  });
  up.set(1);
  const outages = new Counter({
    name: 'ctos_redis_outages_total',
    help: 'Redis outages this process has seen (connection lost or Redis not answering).',
    registers: [metrics],
  });
  const emitFailures = new Counter({
    name: 'ctos_room_emit_failures_total',
    help: 'Room emits Redis did not take (each is sent again, or recovered by the client on reconnect).',
    registers: [metrics],
  });
  return {
    onDown: (name, error) => {
      up.set(0);
      outages.inc();
      logger.error({ connection: name, err: error.message }, 'redis unreachable');
    },
    onUp: (name, outageMs) => {
      up.set(1);
      logger.info({ connection: name, outage_ms: outageMs }, 'redis reachable again');
    },
    onEmitError: (error, first) => {
      emitFailures.inc();
      if (first) logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'room emit failed');
    },
  };
}
