import { DisposableStore, ServiceError } from '@ctos/protocol';
import { HandoffReport, type Logger } from '@ctos/runtime';
import type { Transport } from '@ctos/transport';
import type { Registry } from 'prom-client';
import type { MessageWorkerConfig } from './config';
import { HttpListener } from './http-listener';
import { InFlightRequests } from './in-flight-requests';
import { messageBusHandler } from './message-bus-handler';
import { MessageService } from './message-service';
import { createMessageWorkerMetrics } from './metrics';
import { createProducerApi } from './producer-api';

/** What {@link createMessageWorker} needs. */
export interface MessageWorkerDeps {
  id: string;
  transport: Transport;
  config: MessageWorkerConfig;
  logger: Logger;
  metrics: Registry;
  /** Producer API tokens; default `config.MESSAGE_API_TOKENS` (embedded mode may pass a generated one). */
  apiTokens?: readonly string[];
  /** The clock messages are stamped with; tests move it. */
  now?: () => number;
}

/** A running message-worker. */
export interface MessageWorker {
  readonly id: string;
  /** The messages themselves, for producers in the same process (embedded mode, tests). */
  readonly service: MessageService;
  /** Starts answering gateways over the bus and heartbeating. */
  start(): void;
  /**
   * Serves the producer HTTP API on `port` (0: any) at `host`; resolves with the port.
   * @throws Error when no API token is configured (nobody could call it).
   */
  listen(port: number, host: string): Promise<number>;
  /** Leaves the registry, stops the API, and finishes the requests it has. */
  drain(): Promise<void>;
}

/**
 * The message-worker: owns users' messages. Gateways reach it over the bus with
 * `MessageBusMessage`s (sync, list, read); other backend services post messages through
 * its HTTP API; it delivers through the user's room. Any message-worker can serve any
 * user: state lives in the store, and each change is one store step that publishes its own push.
 *
 * Errors it answers: `INVALID_PAYLOAD` (a malformed bus message), `NOT_FOUND` (an id the
 * user does not have), `UNAVAILABLE` (the store cannot be reached). Anything else is a bug: logged, and `INTERNAL` to the caller.
 */
export function createMessageWorker(deps: MessageWorkerDeps): MessageWorker {
  const { transport, config, id } = deps;
  const logger = deps.logger.child({ worker: id });
  const metrics = createMessageWorkerMetrics(deps.metrics);
  const tokens = deps.apiTokens ?? config.MESSAGE_API_TOKENS;
  const service = new MessageService({
    store: transport.store,
    emitter: transport.emitter,
    retention: { maxCount: config.MESSAGE_RETENTION_COUNT, maxAgeMs: config.MESSAGE_RETENTION_MS },
    idempotencyTtlMs: config.MESSAGE_IDEMPOTENCY_TTL_MS,
    logger,
    ...(deps.now ? { now: deps.now } : {}),
    onPublished: (outcome) => metrics.published.inc({ outcome }),
  });
  // What the worker owns, released by drain() one after the other: its place in the
  // registry, then the producer API's server and the requests in flight.
  const registration = new DisposableStore();
  const serving = new DisposableStore();
  const handoff = new HandoffReport();
  // Each drain step waits on Redis for the death deadline at most.
  const deadlineMs = config.HEARTBEAT_INTERVAL_MS * config.HEARTBEAT_MISSED_BEATS;
  const requests = serving.add(new InFlightRequests(metrics.inFlight, deadlineMs, handoff));
  let draining = false;

  /** A store failure while the transport is down is an outage, not a bug: it is answered `UNAVAILABLE`. */
  const outage = (error: unknown): never => {
    if (error instanceof ServiceError || transport.healthy()) throw error;
    // The outage itself is logged once (redis unreachable); each refusal is counted, not logged.
    logger.debug({ err: error }, 'message store unreachable');
    throw new ServiceError('UNAVAILABLE', 'Messages cannot be reached right now; try again shortly.');
  };
  /** Runs one request, counted as load until it settles. */
  const track = <T>(run: () => Promise<T>): Promise<T> => requests.add(run().catch(outage));

  const handle = messageBusHandler({ service, config, metrics, track });
  const api = createProducerApi({
    tokens,
    maxBodyBytes: config.MESSAGE_API_MAX_BODY_BYTES,
    maxRecipients: config.MESSAGE_MAX_RECIPIENTS,
    requestsPerSecond: config.MESSAGE_API_REQUESTS_PER_SECOND,
    requestBurst: config.MESSAGE_API_BURST,
    publish: (request) => track(() => service.publish(request)),
    isDraining: () => draining,
    logger,
    requests: metrics.apiRequests,
  });

  return {
    id,
    service,
    start() {
      // The transport owns the inbox: `Bus` cannot stop serving; it is read until the
      // transport is disposed, after drain.
      transport.bus.serve(handle);
      const capacity = config.MESSAGE_WORKER_CAPACITY;
      registration.add(transport.registry.announce({ id, kind: 'message', capacity, load: () => requests.size }));
      logger.info({ capacity }, 'message worker started');
    },
    async listen(port, host) {
      if (tokens.length === 0) {
        throw new Error('MESSAGE_API_TOKENS: at least one token is needed to serve the producer API');
      }
      // Owned before it binds: a server that failed to bind is closed with the rest.
      const server = serving.add(new HttpListener(api, () => requests.finish()));
      const bound = await server.listen(port, host);
      logger.info({ port: bound, host }, 'producer API listening');
      return bound;
    },
    async drain() {
      draining = true;
      handoff.begin();
      // Leave the registry first, so gateways place no new requests here.
      await registration.dispose();
      // Then the server stops listening, the requests taken are finished, and its connections close.
      await serving.dispose();
      handoff.log(logger);
      logger.info('message worker drained');
    },
  };
}
