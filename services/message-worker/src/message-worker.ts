import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  messageBusMessageSchema,
  ServiceError,
  type BusHandlers,
  type MessageBusMessage,
  type MessageBusReplies,
} from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import { dispatchBus, type AnnouncementHandle, type Transport } from '@ctos/transport';
import type { Registry } from 'prom-client';
import type { MessageWorkerConfig } from './config';
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
 * user: state lives in the store, and writes of one user are serialised by a lock there.
 *
 * Errors it answers: `INVALID_PAYLOAD` (a malformed bus message), `NOT_FOUND` (an id the
 * user does not have), `UNAVAILABLE` (the store cannot be reached, or a user's lock is
 * busy too long). Anything else is a bug: logged, and `INTERNAL` to the caller.
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
  const inFlight = new Set<Promise<unknown>>();
  let announcement: AnnouncementHandle | undefined;
  let server: HttpServer | undefined;
  let draining = false;

  /**
   * Runs one request, counted as load until it settles. A store failure while the
   * transport is down is an outage, not a bug: it is answered `UNAVAILABLE`.
   */
  const track = <T>(run: () => Promise<T>): Promise<T> => {
    const running = run().catch((error: unknown) => {
      if (error instanceof ServiceError || transport.healthy()) throw error;
      // The outage itself is logged once (redis unreachable); each refusal is counted, not logged.
      logger.debug({ err: error }, 'message store unreachable');
      throw new ServiceError('UNAVAILABLE', 'Messages cannot be reached right now; try again shortly.');
    });
    inFlight.add(running);
    metrics.inFlight.inc();
    const settle = (): void => {
      inFlight.delete(running);
      metrics.inFlight.dec();
    };
    running.then(settle, settle);
    return running;
  };

  /** One handler per message operation (`MessageBusReplies` gives each reply's type). */
  const handlers: BusHandlers<MessageBusMessage, MessageBusReplies> = {
    sync: (m) => service.sync(m.user, m.since ?? 0, m.limit ?? config.MESSAGE_SYNC_PAGE),
    list: (m) => service.list(m.user, m.before, m.limit ?? config.MESSAGE_LIST_PAGE),
    read: (m) => service.read(m.user, m.mark),
  };

  const handle = (body: unknown): Promise<unknown> => {
    const parsed = messageBusMessageSchema.safeParse(body);
    if (!parsed.success) {
      metrics.requests.inc({ op: 'unknown', outcome: 'INVALID_PAYLOAD' });
      return Promise.reject(new ServiceError('INVALID_PAYLOAD', 'Malformed message request.'));
    }
    const message = parsed.data;
    const running = track(() => Promise.resolve(dispatchBus(handlers, message)));
    running.then(
      () => metrics.requests.inc({ op: message.op, outcome: 'ok' }),
      (error: unknown) =>
        metrics.requests.inc({ op: message.op, outcome: error instanceof ServiceError ? error.code : 'INTERNAL' }),
    );
    return running;
  };

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
      transport.bus.serve(handle);
      announcement = transport.registry.announce({
        id,
        kind: 'message',
        capacity: config.MESSAGE_WORKER_CAPACITY,
        load: () => inFlight.size,
      });
      logger.info({ capacity: config.MESSAGE_WORKER_CAPACITY }, 'message worker started');
    },
    async listen(port, host) {
      if (tokens.length === 0) {
        throw new Error('MESSAGE_API_TOKENS: at least one token is needed to serve the producer API');
      }
      server = createServer(api);
      server.listen(port, host);
      await once(server, 'listening');
      const bound = (server.address() as AddressInfo).port;
      logger.info({ port: bound, host }, 'producer API listening');
      return bound;
    },
    async drain() {
      draining = true;
      // Leave the registry first, so gateways place no new requests here.
      await announcement?.dispose();
      const closed = server ? new Promise<void>((resolve) => server!.close(() => resolve())) : Promise.resolve();
      await Promise.allSettled([...inFlight]);
      // Keep-alive connections would hold `close` open; their requests are answered now.
      server?.closeIdleConnections();
      await closed;
      logger.info('message worker drained');
    },
  };
}
