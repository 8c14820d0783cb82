import type { Transport } from '@ctos/transport';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The gateway's own metrics (see deploy/OPERATIONS.md for what each means). */
export interface GatewayMetrics {
  events: Counter<'event' | 'outcome'>;
  busLatency: Histogram<'outcome'>;
  sockets: Gauge;
  handshakeRefusals: Counter<'reason'>;
  resyncs: Counter;
}

/** Registers the gateway's metrics in `registry` (once per registry: prom-client refuses a second). */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    events: new Counter({
      name: 'ctos_gateway_events_total',
      help: 'Client events handled, by name and outcome (ok or an error code).',
      labelNames: ['event', 'outcome'],
      registers: [registry],
    }),
    busLatency: new Histogram({
      name: 'ctos_gateway_bus_request_seconds',
      help: 'Time from a bus request to its reply, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    sockets: new Gauge({
      name: 'ctos_gateway_sockets',
      help: 'Connected, authenticated sockets.',
      registers: [registry],
    }),
    handshakeRefusals: new Counter({
      name: 'ctos_gateway_handshake_refusals_total',
      help: 'Handshakes refused, by reason (origin, token, limit).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    resyncs: new Counter({
      name: 'ctos_gateway_resyncs_total',
      help: 'Times every socket was asked to catch up (connection:resync): room events may have been missed, or attachments dropped.',
      registers: [registry],
    }),
  };
}

/** The kinds of worker a gateway routes to, as `ctos_gateway_live_workers` labels them. */
const WORKER_KINDS = ['terminal', 'ai', 'message'] as const;

/**
 * `ctos_gateway_live_workers{kind}`: live workers of each kind in the registry, read at
 * each scrape. While the registry cannot be read (Redis unreachable) a scrape keeps the
 * last values; `/readyz` says the gateway is not ready then.
 */
export function liveWorkersGauge(registry: Registry, transport: Transport): void {
  new Gauge({
    name: 'ctos_gateway_live_workers',
    help: 'Live workers of each kind in the registry, as this gateway sees them (0: that kind of event answers UNAVAILABLE).',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      await Promise.all(
        WORKER_KINDS.map(async (kind) => {
          const live = await transport.registry.live(kind).catch(() => undefined);
          if (live) this.set({ kind }, live.length);
        }),
      );
    },
  });
}
