import { echoScript, startStandin, type Standin, type StandinOptions } from '@ctos/anthropic-standin';
import { aiRoutes, createGateway, loadGatewayConfig, type Gateway } from '@ctos/gateway';
import type {
  AiErrorEvent,
  AiHistoryMessage,
  AiStreamChunkEvent,
  AiStreamEndEvent,
  AiStreamStartEvent,
} from '@ctos/protocol';
import { createLogger, type Logger } from '@ctos/runtime';
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
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createAiWorker, loadAiWorkerConfig, type AiWorker } from '../src';

export { BUILDS, type Build } from '@ctos/testkit';

/** Quick beats, so a lost process is noticed within a second. */
export const HEARTBEAT: HeartbeatOptions = { intervalMs: 200, missedBeats: 3 };

/** The key the workers send and the stand-in may insist on. */
export const API_KEY = 'sk-ant-test-key';

/** A logger that prints nothing. */
export const quiet = (service: string): Logger => createLogger({ service, level: 'silent' });

/** Opens transports of one build that see each other, and removes what they stored. */
export const transportFactory = (build: Build, heartbeat: HeartbeatOptions = HEARTBEAT): TransportFactory =>
  sharedTransportFactory(build, heartbeat, 'ai');

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  gateways?: number;
  /** ai-workers in this process (default 1). */
  workers?: number;
  /** ai-worker settings beyond the test defaults (`ANTHROPIC_API_KEY: ''` removes the key). */
  env?: Record<string, string>;
  /** Options of the stand-in the workers call. */
  standin?: StandinOptions;
  /** A logger for the ai-workers (default silent). */
  workerLogger?: Logger;
  /** Heartbeats of every process (default {@link HEARTBEAT}). */
  heartbeat?: HeartbeatOptions;
  /** Wraps each ai-worker's transport (a test that holds its store calls). */
  workerTransport?: (transport: Transport) => Transport;
  /** The ai-workers' least time between two chunks (ms; default theirs): 0 for a chunk per round trip. */
  chunkIntervalMs?: number;
}

/** Gateways and ai-workers of one build in this process, calling one stand-in. */
export interface TestCluster {
  standin: Standin;
  gateways: Gateway[];
  workers: AiWorker[];
  transports: Transport[];
  /** A connected socket of `user` on gateway `gateway` (default 0). */
  connect(user: string, gateway?: number): Promise<ClientSocket>;
  stop(): Promise<void>;
}

/**
 * Starts a stand-in for the Anthropic API, `workers` ai-workers pointed at it with the
 * real SDK, and `gateways` gateways with the AI routes, each on a port of its own at
 * 127.0.0.1; waits until every gateway sees every worker.
 */
export async function startCluster(build: Build, options: ClusterOptions = {}): Promise<TestCluster> {
  // Unpaced echo by default: tests that care about pacing script it.
  const standin = await startStandin({
    script: echoScript({ firstDeltaDelayMs: 0, deltaIntervalMs: 0 }),
    ...options.standin,
  });
  const factory = transportFactory(build, options.heartbeat);
  const transports: Transport[] = [];
  const workers: AiWorker[] = [];
  const gateways: Gateway[] = [];
  const sockets: ClientSocket[] = [];
  const config = loadAiWorkerConfig({
    ANTHROPIC_API_KEY: API_KEY,
    ANTHROPIC_BASE_URL: standin.url,
    AI_MODEL: 'claude-haiku-4-5',
    AI_MAX_RETRIES: '0',
    AI_DRAIN_GRACE_MS: '0',
    ...options.env,
  });
  for (let i = 0; i < (options.workers ?? 1); i++) {
    const id = `ai-${i}-${randomUUID().slice(0, 4)}`;
    const transport = factory.open(id);
    transports.push(transport);
    const worker = createAiWorker({
      id,
      transport: options.workerTransport?.(transport) ?? transport,
      config,
      logger: options.workerLogger ?? quiet('ai-worker'),
      metrics: new Registry(),
      ...(options.chunkIntervalMs === undefined ? {} : { chunkIntervalMs: options.chunkIntervalMs }),
    });
    worker.start();
    workers.push(worker);
  }
  const gatewayConfig = loadGatewayConfig({
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    // A drained gateway's clients move at once: spreading them is gentle-drain's subject.
    GATEWAY_DRAIN_WINDOW_MS: '0',
  });
  for (let i = 0; i < (options.gateways ?? 1); i++) {
    const id = `gateway-${i}`;
    const transport = factory.open(id);
    transports.push(transport);
    const gateway = createGateway({
      id,
      config: gatewayConfig,
      jwtSecret: TEST_JWT_SECRET,
      transport,
      logger: quiet('gateway'),
      metrics: new Registry(),
      extraRoutes: [aiRoutes],
    });
    await gateway.listen(0, '127.0.0.1');
    gateways.push(gateway);
    await waitFor(async () => (await transport.registry.live('ai')).length === workers.length, {
      message: `gateway ${id} to see ${workers.length} ai workers`,
    });
  }

  return {
    standin,
    gateways,
    workers,
    transports,
    async connect(user, gateway = 0) {
      const server = gateways[gateway];
      if (!server) throw new Error(`no gateway ${gateway}`);
      const address = server.http.address();
      if (address === null || typeof address === 'string') throw new Error(`gateway ${gateway} is not listening`);
      const socket = await connectClient(`http://127.0.0.1:${address.port}`, await signToken(user));
      sockets.push(socket);
      return socket;
    },
    async stop() {
      for (const socket of sockets.splice(0)) socket.close();
      for (const gateway of gateways) await gateway.drain();
      for (const worker of workers) await worker.drain();
      await standin.close();
      await factory.cleanup();
    },
  };
}

/** One reply as a client heard it. */
export interface HeardReply {
  starts: number;
  /** Chunks in arrival order. */
  chunks: AiStreamChunkEvent[];
  end?: AiStreamEndEvent;
  error?: AiErrorEvent;
}

/**
 * What one socket hears of AI replies, by message id, in arrival order. `text` puts a
 * reply together the way a client must: by index, each index once.
 */
export class Listener {
  readonly replies = new Map<string, HeardReply>();
  /** Every event, in order, as `event:message_id`. */
  readonly order: string[] = [];
  readonly errors: AiErrorEvent[] = [];

  constructor(readonly socket: ClientSocket) {
    socket.on('ai:stream:start', (event: AiStreamStartEvent) => {
      this.reply(event.message_id).starts++;
      this.order.push(`start:${event.message_id}`);
    });
    socket.on('ai:stream:chunk', (event) => {
      this.reply(event.message_id).chunks.push(event);
      this.order.push(`chunk:${event.message_id}`);
    });
    socket.on('ai:stream:end', (event) => {
      this.reply(event.message_id).end = event;
      this.order.push(`end:${event.message_id}`);
    });
    socket.on('ai:error', (event) => {
      this.errors.push(event);
      if (event.message_id) this.reply(event.message_id).error = event;
      this.order.push(`error:${event.message_id ?? '-'}`);
    });
  }

  reply(messageId: string): HeardReply {
    let reply = this.replies.get(messageId);
    if (!reply) {
      reply = { starts: 0, chunks: [] };
      this.replies.set(messageId, reply);
    }
    return reply;
  }

  /** The reply's text by index; throws on a gap or on one index with two texts. */
  text(messageId: string): string {
    const byIndex = new Map<number, string>();
    for (const { index, chunk } of this.reply(messageId).chunks) {
      const known = byIndex.get(index);
      if (known !== undefined && known !== chunk) throw new Error(`index ${index} arrived with two texts`);
      byIndex.set(index, chunk);
    }
    let text = '';
    for (let i = 0; i < byIndex.size; i++) {
      const chunk = byIndex.get(i);
      if (chunk === undefined) throw new Error(`chunk ${i} is missing (have ${[...byIndex.keys()].join(',')})`);
      text += chunk;
    }
    return text;
  }

  /** Indexes in arrival order. */
  indexes(messageId: string): number[] {
    return this.reply(messageId).chunks.map((chunk) => chunk.index);
  }

  /** The highest index received so far without a gap before it (-1 before the first). */
  lastIndex(messageId: string): number {
    const have = new Set(this.indexes(messageId));
    let last = -1;
    while (have.has(last + 1)) last++;
    return last;
  }

  waitForChunks(messageId: string, count: number, timeoutMs?: number): Promise<true> {
    return waitForValue(() => this.reply(messageId).chunks.length >= count || undefined, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      message: `${count} chunks of ${messageId} (got ${this.reply(messageId).chunks.length})`,
    });
  }

  waitForEnd(messageId: string, timeoutMs?: number): Promise<AiStreamEndEvent> {
    return waitForValue(() => this.reply(messageId).end, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      message: `ai:stream:end of ${messageId} (heard ${JSON.stringify(this.order.slice(-3))}, errors ${JSON.stringify(this.errors)})`,
    });
  }

  waitForError(messageId: string, timeoutMs?: number): Promise<AiErrorEvent> {
    return waitForValue(() => this.reply(messageId).error, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      message: `ai:error of ${messageId} (heard ${JSON.stringify(this.order.slice(-3))})`,
    });
  }
}

/** Sends a message with an ack and returns the reply's id; throws with the code if refused. */
export async function send(socket: ClientSocket, conversationId: string, content: string): Promise<string> {
  const answer = await socket.emitWithAck('ai:message', { conversation_id: conversationId, content });
  if (!answer.success) throw Object.assign(new Error(`ai:message refused: ${answer.code} ${answer.error}`), answer);
  return answer.message_id;
}

/** The conversation's stored messages, through `ai:history`. */
export async function history(socket: ClientSocket, conversationId: string): Promise<AiHistoryMessage[]> {
  const answer = await socket.emitWithAck('ai:history', { conversation_id: conversationId });
  if (!answer.success) throw new Error(`ai:history refused: ${answer.code} ${answer.error}`);
  return answer.messages;
}

/** A fresh client-chosen conversation id. */
export const newConversation = (): string => randomUUID();
