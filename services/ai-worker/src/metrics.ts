import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The ai-worker's own metrics. */
export interface AiWorkerMetrics {
  /** Replies streaming now: the load this worker heartbeats. */
  active: Gauge;
  /** Replies ended, by outcome (`complete`, `cancelled`, `interrupted`). */
  replies: Counter<'outcome'>;
  /** Messages refused before a reply started, by error code. */
  refusals: Counter<'code'>;
  /** Replies that failed, by the code their clients were told. */
  failures: Counter<'code'>;
  /** Chunks emitted to clients. */
  chunks: Counter;
  /** From accepting a message to emitting its first chunk (s): upstream latency plus ours. */
  firstChunk: Histogram;
}

/**
 * Buckets of {@link AiWorkerMetrics.firstChunk} (s): the API's time to first token runs
 * from a few hundred ms to several seconds.
 */
const FIRST_CHUNK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];

/** Registers the ai-worker's metrics on `registry`; `activeCount` is read at each scrape. */
export function createAiWorkerMetrics(registry: Registry, activeCount: () => number): AiWorkerMetrics {
  return {
    active: new Gauge({
      name: 'ctos_ai_replies_active',
      help: 'Replies this worker is streaming now.',
      registers: [registry],
      collect() {
        this.set(activeCount());
      },
    }),
    replies: new Counter({
      name: 'ctos_ai_replies_total',
      help: 'Replies ended, by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'ctos_ai_refusals_total',
      help: 'Messages refused before a reply started, by error code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'ctos_ai_reply_failures_total',
      help: 'Replies that failed, by the error code sent to clients.',
      labelNames: ['code'],
      registers: [registry],
    }),
    chunks: new Counter({
      name: 'ctos_ai_chunks_total',
      help: 'Reply chunks emitted to clients.',
      registers: [registry],
    }),
    firstChunk: new Histogram({
      name: 'ctos_ai_first_chunk_seconds',
      help: 'Time from accepting a message to emitting its first chunk.',
      buckets: FIRST_CHUNK_BUCKETS,
      registers: [registry],
    }),
  };
}
