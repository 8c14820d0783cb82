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
