import { Counter, Gauge, type Registry } from 'prom-client';

/** The message-worker's own metrics. */
export interface MessageWorkerMetrics {
  /** Messages created, and retries answered from an idempotency key. */
  published: Counter<'outcome'>;
  /** Gateway requests by op (`sync`, `list`, `read`) and outcome (`ok` or an error code). */
  requests: Counter<'op' | 'outcome'>;
  /** Producer API requests by HTTP status. */
  apiRequests: Counter<'status'>;
  /** Requests (bus and HTTP) running now: the load this worker heartbeats. */
  inFlight: Gauge;
}

/** Registers the message-worker's metrics on `registry`. */
export function createMessageWorkerMetrics(registry: Registry): MessageWorkerMetrics {
  return {
    published: new Counter({
      name: 'ctos_messages_published_total',
      help: 'Per-recipient messages: created, or a duplicate answered from an idempotency key.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    requests: new Counter({
      name: 'ctos_message_requests_total',
      help: 'Gateway requests handled, by op and outcome (ok or an error code).',
      labelNames: ['op', 'outcome'],
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'ctos_message_api_requests_total',
      help: 'Producer API requests, by HTTP status.',
      labelNames: ['status'],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'ctos_message_requests_in_flight',
      help: 'Requests (gateway and producer) being handled now.',
      registers: [registry],
    }),
  };
}
