import { createGateway, loadGatewayConfig, messageRoutes, type Gateway } from '@ctos/gateway';
import {
  messageBusMessageSchema,
  type MessageBusMessage,
  type MessageItem,
  type MessageUnreadCountEvent,
} from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import {
  type Build,
  type ClientSocket,
  connectClient,
  signToken,
  TEST_JWT_SECRET,
  type TransportFactory,
  transportFactory as sharedTransportFactory,
  waitFor,
  waitForValue,
} from '@ctos/testkit';
import type { HeartbeatOptions, Transport } from '@ctos/transport';
import { Registry } from 'prom-client';
import { createMessageWorker, loadMessageWorkerConfig, type MessageWorker } from '../src';

export { BUILDS, type Build } from '@ctos/testkit';

/** The service token test producers send. */
export const API_TOKEN = 'producer-token-for-tests-0123456789abcdef';

/** Quick beats so workers are live at once; death is not tested here. */
const HEARTBEAT: HeartbeatOptions = { intervalMs: 200, missedBeats: 5 };

/** A logger that prints nothing. */
export const quiet = (service: string) => createLogger({ service, level: 'silent' });

/** Opens transports of one build that see each other, and removes what they stored. */
export const transportFactory = (build: Build): TransportFactory => sharedTransportFactory(build, HEARTBEAT, 'msg');

/** What a test cluster's producer call answered. */
export interface PostAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** Options of {@link TestCluster.post}. */
export interface PostOptions {
  /** The bearer token; `null` sends no Authorization header. Default {@link API_TOKEN}. */
  token?: string | null;
  /** Sent as the Idempotency-Key header. */
  key?: string;
  /** Which worker's API to call. Default 0. */
  worker?: number;
  /** Sent as the body as it is, instead of `JSON.stringify(body)`. */
  raw?: string;
  contentType?: string;
}

/** Gateways and message-workers of one build, with clients and a producer. */
export interface TestCluster {
  gatewayUrls: string[];
  workers: MessageWorker[];
  /** Base URL of each worker's producer API. */
  apiUrls: string[];
  /** A connected socket of `user` on gateway `gateway` (default 0). */
  connect(user: string, gateway?: number): Promise<ClientSocket>;
  /** Calls `POST /messages` on a worker's producer API. */
  post(body: unknown, options?: PostOptions): Promise<PostAnswer>;
  stop(): Promise<void>;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  gateways?: number;
  workers?: number;
  /** Message-worker settings beyond the defaults. */
  env?: Record<string, string>;
  /** Gateway settings beyond the defaults. */
  gatewayEnv?: Record<string, string>;
  now?: () => number;
  /** Awaited before each worker's answer to a gateway leaves: holding it plays a slow bus. */
  replyGate?: ReplyGate;
}

/**
 * Called with each request a worker answers, once the answer is computed; the answer is
 * sent when what it returns settles (at once when it returns undefined).
 */
export type ReplyGate = (request: MessageBusMessage) => Promise<void> | undefined;

/** `transport` whose inbox answers wait for `gate` before they are sent. */
function gatingReplies(transport: Transport, gate: ReplyGate): Transport {
  const bus = withOverrides(transport.bus, {
    serve: (handler) =>
      transport.bus.serve(async (body, kind) => {
        const answer: unknown = await handler(body, kind);
        const request = messageBusMessageSchema.safeParse(body);
        if (request.success) await gate(request.data);
        return answer;
      }),
  });
  return withOverrides(transport, { bus });
}

/** `target` with some members replaced; the others are its own, bound to it. */
function withOverrides<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof T];
      const value: unknown = Reflect.get(object, key, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

/**
 * Starts `gateways` gateways and `workers` message-workers on one build, in this
 * process, each on a port of its own at 127.0.0.1, and waits until every gateway sees
 * every worker.
 */
export async function startCluster(build: Build, options: ClusterOptions = {}): Promise<TestCluster> {
  const transports = transportFactory(build);
  const workers: MessageWorker[] = [];
  const apiUrls: string[] = [];
  const gateways: Gateway[] = [];
  const gatewayUrls: string[] = [];
  const sockets: ClientSocket[] = [];
  const config = loadMessageWorkerConfig({ MESSAGE_API_TOKENS: API_TOKEN, ...options.env });
  for (let i = 0; i < (options.workers ?? 1); i++) {
    const id = `message-${i}`;
    const transport = transports.open(id);
    const worker = createMessageWorker({
      id,
      transport: options.replyGate ? gatingReplies(transport, options.replyGate) : transport,
      config,
      logger: quiet('message-worker'),
      metrics: new Registry(),
      ...(options.now ? { now: options.now } : {}),
    });
    worker.start();
    apiUrls.push(`http://127.0.0.1:${await worker.listen(0, '127.0.0.1')}`);
    workers.push(worker);
  }
  const gatewayConfig = loadGatewayConfig({
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    // A drained gateway's clients move at once: spreading them is gentle-drain's subject.
    GATEWAY_DRAIN_WINDOW_MS: '0',
    ...options.gatewayEnv,
  });
  for (let i = 0; i < (options.gateways ?? 1); i++) {
    const id = `gateway-${i}`;
    const transport = transports.open(id);
    const gateway = createGateway({
      id,
      config: gatewayConfig,
      jwtSecret: TEST_JWT_SECRET,
      transport,
      logger: quiet('gateway'),
      metrics: new Registry(),
      extraRoutes: [messageRoutes],
    });
    gatewayUrls.push(`http://127.0.0.1:${await gateway.listen(0, '127.0.0.1')}`);
    gateways.push(gateway);
    await waitFor(async () => (await transport.registry.live('message')).length === workers.length, {
      message: `gateway ${id} to see ${workers.length} message workers`,
    });
  }

  return {
    gatewayUrls,
    workers,
    apiUrls,
    async connect(user, gateway = 0) {
      const url = gatewayUrls[gateway];
      if (!url) throw new Error(`no gateway ${gateway}`);
      const socket = await connectClient(url, await signToken(user));
      sockets.push(socket);
      return socket;
    },
    async post(body, postOptions = {}) {
      const headers: Record<string, string> = { 'content-type': postOptions.contentType ?? 'application/json' };
      const token = postOptions.token === undefined ? API_TOKEN : postOptions.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (postOptions.key !== undefined) headers['idempotency-key'] = postOptions.key;
      const response = await fetch(`${apiUrls[postOptions.worker ?? 0]}/messages`, {
        method: 'POST',
        headers,
        body: postOptions.raw ?? JSON.stringify(body),
      });
      return {
        status: response.status,
        body: (await response.json()) as Record<string, unknown>,
        headers: response.headers,
      };
    },
    async stop() {
      for (const socket of sockets.splice(0)) socket.close();
      for (const gateway of gateways) await gateway.drain();
      for (const worker of workers) await worker.drain();
      await transports.cleanup();
    },
  };
}

/** What one socket has heard of its user's messages. */
export class Inbox {
  readonly messages: MessageItem[] = [];
  readonly counts: MessageUnreadCountEvent[] = [];

  constructor(socket: ClientSocket) {
    socket.on('message:new', (message) => this.messages.push(message));
    socket.on('message:unread_count', (event) => this.counts.push(event));
  }

  /** The ids received, in arrival order. */
  get ids(): number[] {
    return this.messages.map((message) => message.id);
  }

  /**
   * The unread count of the newest version heard, if any, as a client keeps it: a count
   * without a mark may arrive after a newer one (decision 0016).
   */
  get count(): number | undefined {
    let newest: MessageUnreadCountEvent | undefined;
    for (const event of this.counts) if (!newest || (event.version ?? 0) >= (newest.version ?? 0)) newest = event;
    return newest?.count;
  }

  /** Waits until a message titled `title` has arrived, and returns it. */
  waitForTitle(title: string): Promise<MessageItem> {
    return waitForValue(() => this.messages.find((message) => message.title === title), {
      message: `message:new titled ${JSON.stringify(title)} (got ${JSON.stringify(this.messages.map((m) => m.title))})`,
    });
  }

  /** Waits until the unread count of the newest version heard is `count`. */
  waitForCount(count: number): Promise<true> {
    return waitForValue(() => this.count === count || undefined, {
      message: `message:unread_count ${count} (got ${JSON.stringify(this.counts)})`,
    });
  }
}

/** A message draft as a producer would post it, for `user_id`. */
export function draft(userId: string, title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { user_id: userId, source: 'tests', title, content: `content of ${title}`, ...extra };
}
