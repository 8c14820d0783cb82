/**
 * What the fault-injection suites (faults-*.test.ts) share: a process cluster started with
 * short heartbeats and an in-process Anthropic stand-in, clients that recover the way the
 * web page does, a producer that retries, and probes of /readyz, /metrics and the logs.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { startStandin, type MessagesRequest, type Reply, type Standin } from '@ctos/anthropic-standin';
import type { MessageItem, ResyncEvent } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { waitFor, type ClientSocket, isolatedUids, TerminalStream } from '@ctos/testkit';
import { io } from 'socket.io-client';
import { startCluster, type Cluster, type ClusterProcessInfo } from '../src/cluster';

/**
 * Settings of every fault suite. Scaled down from the product's defaults so the suite
 * fits in `npm test` on two cores: heartbeats every 200 ms (default 1000) and five missed
 * beats (default 3), so a process is declared dead after 1 s instead of 3 s — not less,
 * or a worker stalled by a busy shared machine would be declared dead too; bus requests
 * time out after 3 s (default 5).
 */
export const FAULT_ENV = {
  // Run as root, each user's shells get a Unix account: from a uid range of this test's own.
  ...isolatedUids().env,
  TERMINAL_SHELL: '/bin/bash',
  TERMINAL_SHELL_ARGS: '--norc --noprofile',
  HEARTBEAT_INTERVAL_MS: '200',
  HEARTBEAT_MISSED_BEATS: '5',
  BUS_REQUEST_TIMEOUT_MS: '3000',
  AI_MESSAGES_PER_MINUTE: '1000',
  GATEWAY_MAX_SOCKETS_PER_ADDRESS: '5000',
  GATEWAY_MAX_SOCKETS_PER_USER: '5000',
};

/** A reply the stand-in streams slowly, so a fault lands in its middle: `slow <deltas> <interval ms>`. */
export function slowReplyPrompt(deltas: number, intervalMs: number): string {
  return `slow ${deltas} ${intervalMs}`;
}

/** The deltas of a slow reply, as the stand-in sends them. */
export function slowReplyText(deltas: number): string {
  return Array.from({ length: deltas }, (_, i) => `w${i + 1} `).join('');
}

/** The stand-in's script: `slow N MS` streams N numbered words MS apart; anything else a short echo. */
function faultScript({ body }: { body: MessagesRequest }): Reply {
  const last = body.messages.at(-1)?.content;
  const text = typeof last === 'string' ? last : '';
  const slow = /^slow (\d+) (\d+)$/.exec(text);
  if (slow) {
    const deltas = Number(slow[1]);
    return {
      deltas: Array.from({ length: deltas }, (_, i) => `w${i + 1} `),
      firstDeltaDelayMs: 0,
      deltaIntervalMs: Number(slow[2]),
    };
  }
  return { text: `echo: ${text}`, firstDeltaDelayMs: 0, deltaIntervalMs: 1 };
}

/** A cluster under test, its stand-in, and every line each process printed. */
export interface FaultCluster {
  cluster: Cluster;
  standin: Standin;
  /** Lines by process name (`gateway-1`, `redis`…), in order. */
  lines: Map<string, string[]>;
  running(role: ClusterProcessInfo['role']): ClusterProcessInfo[];
  stop(): Promise<void>;
}

/** Starts the topology of issue 10: two gateways, two terminal-workers, one ai-worker, one message-worker. */
export async function startFaultCluster(env: Record<string, string> = {}): Promise<FaultCluster> {
  const standin = await startStandin({ script: faultScript });
  const lines = new Map<string, string[]>();
  let cluster: Cluster;
  try {
    cluster = await startCluster({
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: '0',
        LOG_LEVEL: 'info',
        ANTHROPIC_BASE_URL: standin.url,
        ANTHROPIC_API_KEY: 'stand-in',
        ...FAULT_ENV,
        ...env,
      },
      logger: createLogger({ service: 'faults-test', level: 'silent' }),
      onProcessLine: (info, line) => {
        let list = lines.get(info.name);
        if (!list) lines.set(info.name, (list = []));
        list.push(line);
      },
    });
  } catch (error) {
    await standin.close();
    throw error;
  }
  return {
    cluster,
    standin,
    lines,
    running: (role) => cluster.processes().filter((p) => p.role === role && !p.exit),
    stop: async () => {
      await cluster.stop();
      await standin.close();
    },
  };
}

/** GET `http://127.0.0.1:port/path` → status and body (status 0 when nothing answers). */
export function httpGet(port: number, path: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // Not listening (killed) or not answering: no status.
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Where a process answers /readyz and /metrics. */
export function opsPort(info: ClusterProcessInfo): number {
  return info.role === 'gateway' ? info.port : info.ports.ops!;
}

/** The /readyz status of each process (200 ready, 503 not). */
export function readiness(processes: ClusterProcessInfo[]): Promise<number[]> {
  return Promise.all(processes.map(async (p) => (await httpGet(opsPort(p), '/readyz')).status));
}

/**
 * A metric's value in a process's /metrics: the first series called `name` that has every
 * label of `labels` (`{kind="ai"}`; others, like `service`, may be there too).
 */
export async function metric(info: ClusterProcessInfo, name: string, labels = ''): Promise<number> {
  const { body } = await httpGet(opsPort(info), '/metrics');
  const wanted = labels
    .replace(/^\{|\}$/g, '')
    .split(',')
    .filter(Boolean);
  for (const [, have = '', value] of body.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? ([-+\\d.e]+)$`, 'gm'))) {
    if (wanted.every((label) => have.split(',').includes(label))) return Number(value);
  }
  throw new Error(`${info.name} has no ${name}${labels}`);
}

/** Lines of `name` from position `from` on whose JSON `msg` is `message`. */
export function logged(lines: Map<string, string[]>, name: string, message: string, from = 0): string[] {
  return (lines.get(name) ?? []).slice(from).filter((line) => line.includes(`"msg":"${message}"`));
}

/**
 * One terminal session as a client renders it, checked byte by byte (a
 * {@link TerminalStream}): `breaks` lists every gap or overlap of `seq`, which the page
 * would not notice (it drops what it has by position, and renders past a gap).
 */
export class TerminalView {
  readonly stream = new TerminalStream();
  closed?: { reason: string };
  /** Counts attaches, so the answer of one a newer attach superseded is ignored (as the page does). */
  generation = 0;

  get text(): string {
    return this.stream.text;
  }

  get seq(): number {
    return this.stream.seq;
  }

  /** Gaps and overlaps found; empty while the stream is whole. */
  get breaks(): readonly string[] {
    return this.stream.errors;
  }

  /** Chunks a worker sent again whole, with the same bytes, dropped by position (see {@link TerminalStream.repeats}). */
  get repeats(): readonly string[] {
    return this.stream.repeats;
  }
}

/** One reply as a client renders it: chunks by index. */
export interface ReplyView {
  conversationId: string;
  messageId: string;
  chunks: string[];
  ended?: string;
  error?: { code: string; retryable: boolean };
  /** Chunks that came again at an index held already, with the same text (a resume's overlap). */
  repeats?: number;
  /** Chunks that came again at an index held already with other text: a corrupted reply. */
  conflicts?: string[];
}

/** Options of {@link RecoveringClient}. */
export interface RecoveringClientOptions {
  /** Bind the client to this address (distinct 127.0.N.1 addresses spread clients over nginx's hash). */
  localAddress?: string;
  /** First reconnect delay (ms); the web page uses 500. */
  reconnectionDelay?: number;
  /** Longest reconnect delay (ms); the web page uses 10,000. */
  reconnectionDelayMax?: number;
}

/**
 * A client that recovers the way the web page does (web/src/shell/socket-client.ts and
 * terminal-view.ts): it reconnects by itself with jittered backoff, and after every
 * reconnect — or `connection:resync` on a connection that stayed up — re-attaches each
 * terminal with the last `seq` it rendered, syncs messages from the last id it has
 * without a gap, and resumes each unfinished reply from its last index. A catch-up starts
 * in the tick the hint or the reconnect is heard, so live output from after a gap is
 * held from the start; a newer catch-up supersedes a terminal's attach in flight.
 */
export class RecoveringClient {
  readonly socket: ClientSocket;
  readonly terminals = new Map<string, TerminalView>();
  /** Messages by id, from `message:new` or `message:sync`. */
  readonly messages = new Map<number, MessageItem>();
  readonly replies = new Map<string, ReplyView>();
  /** Times (ms, performance.now) the socket disconnected and connected again. */
  readonly disconnects: number[] = [];
  /** Times (performance.now) each reconnect attempt started: the client's backoff, jitter included. */
  readonly attempts: number[] = [];
  /** Recovery steps that failed and were retried (`terminal:attach TIMEOUT`…), for failure messages. */
  readonly retried: string[] = [];
  readonly reconnects: number[] = [];
  /** `connection:resync` hints heard, in order. */
  readonly hints: ResyncEvent[] = [];
  /** Messages that came again (by id) after the client had them: live and caught up. */
  messageRepeats = 0;
  private resyncing: Promise<void> = Promise.resolve();
  private readonly unclaimedReplies = new Map<string, Array<(reply: ReplyView) => void>>();
  private readonly unclaimed = new Set<Array<{ session_id: string; data: string; seq: number }>>();

  constructor(url: string, token: string, options: RecoveringClientOptions = {}) {
    this.socket = io(url, {
      path: '/socket.io',
      transports: ['websocket'],
      forceNew: true,
      auth: { token },
      reconnection: true,
      reconnectionAttempts: Infinity,
      reconnectionDelay: options.reconnectionDelay ?? 300,
      reconnectionDelayMax: options.reconnectionDelayMax ?? 2000,
      randomizationFactor: 0.5,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    } as Parameters<typeof io>[1]) as ClientSocket;
    this.socket.on('disconnect', (reason) => {
      this.disconnects.push(performance.now());
      // Socket.IO leaves a server-side close to the app; the page reconnects after 300 ms.
      if (reason === 'io server disconnect') setTimeout(() => this.socket.connect(), 300);
    });
    this.socket.io.on('reconnect_attempt', () => this.attempts.push(performance.now()));
    let first = true;
    this.socket.on('connect', () => {
      if (first) {
        first = false;
        return;
      }
      this.reconnects.push(performance.now());
      this.catchUp();
    });
    this.socket.on('connection:resync', (event) => {
      this.hints.push(event);
      this.catchUp();
    });
    this.socket.on('terminal:output', (event) => {
      // While a create is in flight its id is unknown: keep everything, sorted out once it is.
      for (const unclaimed of this.unclaimed) unclaimed.push(event);
      this.terminals.get(event.session_id)?.stream.live(event);
    });
    this.socket.on('terminal:closed', (event) => {
      const view = this.terminals.get(event.session_id);
      if (view) view.closed = { reason: event.reason };
    });
    this.socket.on('message:new', (message) => this.keepMessage(message));
    // A reply's events can be read before its ack's continuation runs: keep them until it is known.
    const apply = (messageId: string, update: (reply: ReplyView) => void): void => {
      const reply = this.replies.get(messageId);
      if (reply) update(reply);
      else this.unclaimedReplies.set(messageId, [...(this.unclaimedReplies.get(messageId) ?? []), update]);
    };
    this.socket.on('ai:stream:chunk', (event) =>
      apply(event.message_id, (reply) => {
        const held = reply.chunks[event.index];
        if (held === undefined) reply.chunks[event.index] = event.chunk;
        else if (held === event.chunk) reply.repeats = (reply.repeats ?? 0) + 1;
        else
          (reply.conflicts ??= []).push(
            `chunk ${event.index}: ${JSON.stringify(held)} then ${JSON.stringify(event.chunk)}`,
          );
      }),
    );
    this.socket.on('ai:stream:end', (event) => apply(event.message_id, (reply) => (reply.ended = event.stop_reason)));
    this.socket.on('ai:error', (event) => {
      if (!event.message_id) return;
      apply(event.message_id, (reply) => (reply.error = { code: event.code, retryable: event.retryable }));
    });
  }

  /** Resolves once connected (the first time). */
  async connected(timeoutMs = 10_000): Promise<this> {
    await waitFor(() => this.socket.connected, { timeoutMs, message: 'the client to connect' });
    return this;
  }

  /** The highest message id below which this client has every id. */
  get contiguousMessageId(): number {
    let id = 0;
    while (this.messages.has(id + 1)) id++;
    return id;
  }

  /** Opens a terminal and follows it. */
  async createTerminal(): Promise<string> {
    const unclaimed: Array<{ session_id: string; data: string; seq: number }> = [];
    this.unclaimed.add(unclaimed);
    try {
      const ack = await this.socket.timeout(10_000).emitWithAck('terminal:create', { cols: 120, rows: 30 });
      if (!ack.success) throw new Error(`terminal:create failed: ${ack.code} ${ack.error}`);
      const view = new TerminalView();
      this.terminals.set(ack.session_id, view);
      // From its first byte: the stream starts at position 0.
      view.stream.applyReplay({ data: '', seq: 0, snapshot: false });
      for (const event of unclaimed) if (event.session_id === ack.session_id) view.stream.live(event);
      return ack.session_id as string;
    } finally {
      this.unclaimed.delete(unclaimed);
    }
  }

  /** Follows another of the user's terminals (from its start). */
  async attachTerminal(sessionId: string): Promise<void> {
    this.terminals.set(sessionId, new TerminalView());
    await this.attach(sessionId);
  }

  /** Starts a reply (in a new conversation unless one is given) and follows it. */
  async ask(content: string, conversationId: string = randomUUID()): Promise<ReplyView> {
    const ack = await this.socket
      .timeout(10_000)
      .emitWithAck('ai:message', { conversation_id: conversationId, content });
    if (!ack.success) throw new Error(`ai:message failed: ${ack.code} ${ack.error}`);
    const reply: ReplyView = { conversationId, messageId: ack.message_id, chunks: [] };
    this.replies.set(ack.message_id, reply);
    for (const update of this.unclaimedReplies.get(ack.message_id) ?? []) update(reply);
    this.unclaimedReplies.delete(ack.message_id);
    return reply;
  }

  /** The text of a reply as rendered: its chunks up to the first gap. */
  static text(reply: ReplyView): string {
    let text = '';
    for (let i = 0; i < reply.chunks.length && reply.chunks[i] !== undefined; i++) text += reply.chunks[i];
    return text;
  }

  /** Waits until every recovery step started by the last reconnect has finished. */
  async settled(): Promise<void> {
    await this.resyncing;
  }

  close(): void {
    this.socket.close();
  }

  /** Starts a catch-up now (see {@link resync}); {@link settled} waits for the newest. */
  private catchUp(): void {
    this.resyncing = this.resync();
  }

  /** Keeps a message by id, counting one that came again. */
  private keepMessage(message: MessageItem): void {
    if (this.messages.has(message.id)) this.messageRepeats++;
    this.messages.set(message.id, message);
  }

  /** What the web page does after a reconnect or a resync hint. */
  private async resync(): Promise<void> {
    await Promise.all([
      ...[...this.terminals].filter(([, view]) => !view.closed).map(([id]) => this.attach(id)),
      this.syncMessages(),
      ...[...this.replies.values()].filter((r) => !r.ended && !r.error).map((r) => this.resume(r)),
    ]);
  }

  /**
   * terminal:attach with the last seq; retried like the web page while it fails with a
   * retryable code. Live output is held from the request until the replay is in (it can
   * be read before the ack's continuation runs), across failed attempts too.
   */
  private async attach(sessionId: string): Promise<void> {
    const view = this.terminals.get(sessionId)!;
    const generation = ++view.generation;
    for (let attempt = 0; attempt < 20 && this.socket.connected; attempt++) {
      const since = view.stream.beginAttach();
      const ack = await this.socket
        .timeout(5000)
        .emitWithAck('terminal:attach', { session_id: sessionId, since, flow_control: false })
        .catch(() => undefined);
      if (generation !== view.generation) return; // a newer catch-up owns the view
      if (ack?.success) {
        if (ack.snapshot && since > 0)
          view.stream.errors.push(`attach since ${since} gave a snapshot: output was lost`);
        view.stream.applyReplay(ack);
        return;
      }
      if (ack && ack.code === 'NOT_FOUND') {
        view.stream.applyReplay({ data: '', seq: view.stream.seq, snapshot: false });
        view.closed ??= { reason: 'not_found' };
        return;
      }
      this.retried.push(`terminal:attach ${ack ? ack.code : 'no answer'}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (generation !== view.generation) return;
    }
  }

  /** message:sync from the last id this client has without a gap, page by page. */
  private async syncMessages(): Promise<void> {
    for (let attempt = 0; attempt < 20 && this.socket.connected; attempt++) {
      const ack = await this.socket
        .timeout(5000)
        .emitWithAck('message:sync', { since: this.contiguousMessageId })
        .catch(() => undefined);
      if (ack?.success) {
        for (const message of ack.messages) this.keepMessage(message);
        if (!ack.has_more) return;
        attempt = -1;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** ai:resume from the last contiguous chunk. */
  private async resume(reply: ReplyView): Promise<void> {
    for (let attempt = 0; attempt < 20 && this.socket.connected; attempt++) {
      const since = RecoveringClient.text(reply) === '' ? -1 : contiguous(reply.chunks) - 1;
      const ack = await this.socket
        .timeout(5000)
        .emitWithAck('ai:resume', { conversation_id: reply.conversationId, message_id: reply.messageId, since })
        .catch(() => undefined);
      if (ack?.success) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** How many chunks from index 0 have arrived without a gap. */
function contiguous(chunks: string[]): number {
  let n = 0;
  while (n < chunks.length && chunks[n] !== undefined) n++;
  return n;
}

/** The numbered lines `L<n>` of a terminal's text, in the order they appear. */
export function numberedLines(text: string, tag = 'L'): number[] {
  return [...text.matchAll(new RegExp(`(?<=[\\r\\n])${tag}(\\d+)\\r\\n`, 'g'))].map((m) => Number(m[1]));
}

/** 1..n. */
export function oneTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** What one producer call ended with. */
export interface Posted {
  key: string;
  title: string;
  ids: number[];
  attempts: number;
  /** Statuses of the failed attempts (0: no answer). */
  refusals: number[];
}

/**
 * Posts one message to `user` the way a well-behaved producer does: with an idempotency
 * key, retrying refusals (429, 503, 409, 5xx, no answer) after `Retry-After` (or 200 ms)
 * until a 2xx or `deadlineMs`. `port()` is read before each attempt (a restarted
 * message-worker listens elsewhere).
 */
export async function postWithRetries(
  port: () => number,
  token: string,
  user: string,
  title: string,
  deadlineMs = 20_000,
): Promise<Posted> {
  const key = randomUUID();
  const refusals: number[] = [];
  const deadline = Date.now() + deadlineMs;
  for (let attempts = 1; ; attempts++) {
    let status = 0;
    let retryAfterMs = 200;
    try {
      const response = await fetch(`http://127.0.0.1:${port()}/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'idempotency-key': key,
        },
        body: JSON.stringify({ user_id: user, source: 'faults-test', title }),
        signal: AbortSignal.timeout(5000),
      });
      status = response.status;
      const body = (await response.json()) as { messages?: Array<{ id: number }> };
      if (status >= 200 && status < 300)
        return { key, title, ids: body.messages!.map((m) => m.id), attempts, refusals };
      const retryAfter = Number(response.headers.get('retry-after'));
      if (retryAfter > 0) retryAfterMs = retryAfter * 1000;
    } catch {
      // Refused, reset or timed out (status stays 0): the worker is down or restarting.
    }
    refusals.push(status);
    if ([400, 401, 413, 415, 422].includes(status)) throw new Error(`the producer API refused ${title}: ${status}`);
    if (Date.now() > deadline) throw new Error(`no 2xx for ${title} within ${deadlineMs} ms (${refusals.join(',')})`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(retryAfterMs, 1000)));
  }
}
