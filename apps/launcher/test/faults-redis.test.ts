/**
 * Issue 10, faults 1–3: Redis restarted, paused, and its pub/sub connections killed,
 * while terminals print, a reply streams, messages are posted and a user types — on the
 * real process topology (cluster launcher: its own redis-server with AOF, two gateways,
 * two terminal-workers, an ai-worker on the Anthropic stand-in, a message-worker).
 *
 * Scaled down from the issue: the 30 s pause is 6 s (six death deadlines at the suite's
 * heartbeat: long enough for everyone to look dead), terminals print 150 lines.
 */
import type { AiHistoryMessage } from '@ctos/protocol';
import { Redis } from 'ioredis';
import type { ClusterProcessInfo } from '../src/cluster';
import { waitFor } from '@ctos/testkit';
import {
  logged,
  metric,
  numberedLines,
  oneTo,
  postWithRetries,
  readiness,
  RecoveringClient,
  slowReplyPrompt,
  slowReplyText,
  startFaultCluster,
  type FaultCluster,
  type Posted,
} from './faults-support';

/** Lines each terminal prints (`L1`…), 30 ms apart: about 6 s of output spanning the fault. */
const LINES = 150;
/** The reply: numbered words 60 ms apart, about 5 s. */
const REPLY_DELTAS = 80;
const REPLY_INTERVAL_MS = 60;
/** The pause of fault 2 (the 30 s, scaled to the suite's 1 s death deadline). */
const PAUSE_MS = 6000;
/** A process must be ready again this soon after Redis answers (the figure). */
const RECOVERY_MS = 5000;
/** The processes that talk to Redis (all but nginx, Redis itself and the stand-in). */
const SERVICES: ReadonlyArray<ClusterProcessInfo['role']> = [
  'gateway',
  'terminal-worker',
  'ai-worker',
  'message-worker',
];

describe('Redis faults on the process cluster', () => {
  let system: FaultCluster;
  const clients: RecoveringClient[] = [];

  const services = (): ClusterProcessInfo[] => SERVICES.flatMap((role) => system.running(role));
  const gateway = (n: number): ClusterProcessInfo => system.running('gateway')[n]!;
  const connect = async (user: string, via: ClusterProcessInfo): Promise<RecoveringClient> => {
    const client = new RecoveringClient(`http://127.0.0.1:${via.port}`, await system.cluster.signToken(user));
    clients.push(client);
    return client.connected();
  };
  const apiPort = (): number => system.running('message-worker')[0]!.ports.api!;

  beforeAll(async () => {
    system = await startFaultCluster();
  }, 60_000);

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    await system?.stop();
  });

  /**
   * Runs one fault under load and checks what must hold for every Redis fault: no process
   * exits, each logs the outage once, reports not-ready during it (when `notReady`) and
   * ready within 5 s after, and afterwards terminal output, typed input, the reply and the
   * messages are whole — through a terminal and a user with sockets on both gateways.
   */
  const underLoad = async (
    name: string,
    inject: (marks: { recovered: () => void }) => Promise<void>,
    expectOutage: boolean,
  ) => {
    const lineMarks = new Map([...system.lines].map(([process, lines]) => [process, lines.length]));
    const ann1 = await connect('ann', gateway(0));
    const ann2 = await connect('ann', gateway(1));
    const bob = await connect('bob', gateway(1));

    // Output running through the fault, followed on both gateways.
    const loop = await ann1.createTerminal();
    await ann2.attachTerminal(loop);
    const bobLoop = await bob.createTerminal();
    const typing = await bob.createTerminal();
    const program = `for i in $(seq 1 ${LINES}); do echo L$i; sleep 0.03; done; echo DONE-$((6*7))\r`;
    ann1.socket.emit('terminal:input', { session_id: loop, data: program });
    bob.socket.emit('terminal:input', { session_id: bobLoop, data: program });
    await waitFor(() => numberedLines(ann1.terminals.get(loop)!.text).length >= 5, { message: 'the loop to print' });

    // A reply streaming through the fault.
    const reply = await ann1.ask(slowReplyPrompt(REPLY_DELTAS, REPLY_INTERVAL_MS));
    await waitFor(() => reply.chunks.length >= 3, { message: 'the reply to stream' });

    // A producer posting with retries, and a user typing, through the fault.
    const posted: Posted[] = [];
    const inputs: Array<{ n: number; outcome: string }> = [];
    let load = true;
    const producing = (async () => {
      for (let n = 1; load; n++)
        posted.push(await postWithRetries(apiPort, system.cluster.messageApiTokens[0]!, 'ann', `${name}-${n}`));
    })();
    const typingDone = (async () => {
      for (let n = 1; load; n++) {
        if (!bob.socket.connected) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        const sent = bob.socket
          .timeout(4000)
          .emitWithAck('terminal:input', { session_id: typing, data: `echo IN$((${n}+0))\r` });
        const outcome = await sent.then(
          (ack) => (ack.success ? 'ok' : ack.code),
          () => (bob.socket.connected ? 'hung' : 'disconnected'),
        );
        inputs.push({ n, outcome });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));

    let recoveredAt = 0;
    const injected = inject({ recovered: () => (recoveredAt = performance.now()) });
    if (expectOutage) {
      await waitFor(async () => (await readiness(services())).every((status) => status === 503), {
        timeoutMs: 4000,
        message: 'every process to report not ready during the outage',
      });
    }
    await injected;
    await waitFor(async () => (await readiness(services())).every((status) => status === 200), {
      timeoutMs: RECOVERY_MS + 5000,
      message: 'every process to be ready again',
    });
    if (expectOutage) expect(performance.now() - recoveredAt).toBeLessThan(RECOVERY_MS);

    // A little more load after recovery, then stop it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    load = false;
    await Promise.all([producing, typingDone]);

    // No process exited.
    expect(
      services()
        .map((p) => p.name)
        .sort(),
    ).toEqual(
      system.cluster
        .processes()
        .filter((p) => SERVICES.includes(p.role))
        .map((p) => p.name)
        .sort(),
    );

    // Terminal output is whole on both gateways, and nothing was reported lost.
    for (const [client, session] of [
      [ann1, loop],
      [ann2, loop],
      [bob, bobLoop],
    ] as const) {
      const view = client.terminals.get(session)!;
      await waitFor(() => /DONE-42\r\n/.test(view.text), {
        timeoutMs: 15_000,
        message: `${session} to finish on every client (connected ${client.socket.connected}, seq ${view.seq}, closed ${JSON.stringify(view.closed)}, ${numberedLines(view.text).length} lines, tail ${JSON.stringify(view.text.slice(-80))})`,
      });
      expect(client.terminals.get(session)!.closed).toBeUndefined();
      expect(view.breaks).toEqual([]);
      expect(numberedLines(client.terminals.get(session)!.text)).toEqual(oneTo(LINES));
    }

    // Input acknowledged was written exactly once; input refused says why; nothing hung.
    expect(inputs.filter((i) => i.outcome === 'hung')).toEqual([]);
    expect(inputs.filter((i) => !['ok', 'UNAVAILABLE', 'TIMEOUT', 'disconnected'].includes(i.outcome))).toEqual([]);
    const echo = `echo DONE-INPUT-$((6*7))\r`;
    await waitFor(
      async () => {
        if (!bob.socket.connected) return false;
        const ack = await bob.socket.timeout(2000).emitWithAck('terminal:input', { session_id: typing, data: echo });
        return ack.success;
      },
      { message: 'input to be accepted after recovery' },
    );
    await waitFor(() => /DONE-INPUT-42\r\n/.test(bob.terminals.get(typing)!.text), { message: 'the last input' });
    const ran = numberedLines(bob.terminals.get(typing)!.text, 'IN');
    for (const { n, outcome } of inputs) {
      const times = ran.filter((m) => m === n).length;
      if (outcome === 'ok') expect([n, times]).toEqual([n, 1]);
      else expect([n, times <= 1]).toEqual([n, true]);
    }
    expect(inputs.filter((i) => i.outcome === 'ok').length).toBeGreaterThan(0);

    // The reply: what reached the client is in the stored history, in order.
    await waitFor(() => reply.ended ?? reply.error, { timeoutMs: 15_000, message: 'the reply to end' });
    const history = await ann1.socket
      .timeout(5000)
      .emitWithAck('ai:history', { conversation_id: reply.conversationId });
    if (!history.success) throw new Error(`ai:history: ${history.code}`);
    const stored = history.messages.find((m: AiHistoryMessage) => m.message_id === reply.messageId)!;
    expect(stored.content.startsWith(RecoveringClient.text(reply))).toBe(true);
    if (reply.ended) {
      expect([stored.status, RecoveringClient.text(reply)]).toEqual(['complete', slowReplyText(REPLY_DELTAS)]);
    } else {
      expect([reply.error?.retryable, stored.status]).toEqual([true, 'interrupted']);
    }

    // Every message the producer API acknowledged reaches both of ann's sockets.
    const acked = posted.flatMap((p) => p.ids);
    expect(acked.length).toBeGreaterThan(0);
    for (const client of [ann1, ann2]) {
      await waitFor(() => acked.every((id) => client.messages.has(id)), {
        timeoutMs: 10_000,
        message: `every acknowledged message on ${client.socket.id}`,
      });
    }

    // A room emit after the fault reaches sockets on both gateways.
    const after = await postWithRetries(apiPort, system.cluster.messageApiTokens[0]!, 'ann', `${name}-after`);
    for (const client of [ann1, ann2]) {
      await waitFor(() => client.messages.has(after.ids[0]!), { timeoutMs: 3000, message: 'the emit after the fault' });
    }

    // Each process logged the outage once, not once per operation.
    const since = (process: string): number => lineMarks.get(process) ?? 0;
    for (const p of services()) {
      const down = logged(system.lines, p.name, 'redis unreachable', since(p.name));
      const up = logged(system.lines, p.name, 'redis reachable again', since(p.name));
      expect([p.name, down.length, up.length]).toEqual([
        p.name,
        expectOutage ? 1 : down.length,
        expectOutage ? 1 : up.length,
      ]);
      expect([p.name, logged(system.lines, p.name, 'room emit failed', since(p.name)).length <= 1]).toEqual([
        p.name,
        true,
      ]);
    }
    // Nobody was declared dead.
    for (const p of system.running('gateway')) {
      expect(logged(system.lines, p.name, 'terminal worker lost', since(p.name))).toEqual([]);
      expect(logged(system.lines, p.name, 'ai worker lost; its replies are marked interrupted', since(p.name))).toEqual(
        [],
      );
    }
    return { ann1, ann2, bob };
  };

  it('survives Redis being SIGKILLed and started again on the same port, losing no acknowledged write', async () => {
    // Acknowledged writes straight to Redis, racing the kill: the AOF (appendfsync everysec)
    // holds every one of them when Redis comes back (the README's promise for a process crash).
    const raw = new Redis(system.cluster.redisUrl, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    raw.on('error', () => undefined);
    let acknowledged = 0;
    const counter = `${system.cluster.redisPrefix}:faults:counter`;
    const counting = (async () => {
      for (;;) {
        try {
          acknowledged = await raw.incr(counter);
        } catch {
          return;
        }
      }
    })();

    try {
      await underLoad(
        'restart',
        async ({ recovered }) => {
          await system.cluster.signal('redis', 'SIGKILL');
          await counting;
          // Back within 2 s, on the same port and AOF folder.
          await new Promise((resolve) => setTimeout(resolve, 1000));
          await system.cluster.restartRedis();
          recovered();
        },
        true,
      );
    } finally {
      raw.disconnect();
    }

    const check = new Redis(system.cluster.redisUrl);
    try {
      const kept = Number(await check.get(counter));
      // Every acknowledged INCR survived; at most the one in flight at the kill went in unacknowledged.
      expect(kept - acknowledged).toBeGreaterThanOrEqual(0);
      expect(kept - acknowledged).toBeLessThanOrEqual(1);
      expect(acknowledged).toBeGreaterThan(0);
    } finally {
      check.disconnect();
    }
    // The gateways told their clients to resynchronise once.
    for (const g of system.running('gateway'))
      expect(await metric(g, 'ctos_gateway_resyncs_total')).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('survives Redis being paused longer than the death deadline without declaring anyone dead', async () => {
    const before = await Promise.all(system.running('terminal-worker').map((w) => metric(w, 'ctos_terminal_sessions')));
    await underLoad(
      'pause',
      async ({ recovered }) => {
        await system.cluster.signal('redis', 'SIGSTOP');
        await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
        await system.cluster.signal('redis', 'SIGCONT');
        recovered();
      },
      true,
    );
    expect(before.every((n) => n >= 0)).toBe(true);
    // Every worker is still registered and serving: new sessions open.
    const probe = await connect('carol', gateway(0));
    await probe.createTerminal();
  }, 90_000);

  it('survives its pub/sub connections being killed while Redis stays up', async () => {
    const resyncs = await Promise.all(system.running('gateway').map((g) => metric(g, 'ctos_gateway_resyncs_total')));
    await underLoad(
      'pubsub',
      async ({ recovered }) => {
        const admin = new Redis(system.cluster.redisUrl);
        try {
          expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
        } finally {
          admin.disconnect();
        }
        recovered();
      },
      false,
    );
    const now = await Promise.all(system.running('gateway').map((g) => metric(g, 'ctos_gateway_resyncs_total')));
    expect(now.map((n, i) => n - resyncs[i]!)).toEqual([1, 1]);
  }, 90_000);
  it('keeps a stream whole and stores nothing twice when only a worker’s own Redis connection is cut', async () => {
    // The gateways' connections stay up, so nothing makes the clients resynchronise: the
    // workers must send again what Redis did not take, and must not run twice what it did.
    const ann = await connect('ann', gateway(0));
    const loop = await ann.createTerminal();
    const typing = await ann.createTerminal();
    ann.socket.emit('terminal:input', {
      session_id: loop,
      data: `for i in $(seq 1 ${LINES}); do echo L$i; sleep 0.02; done; echo DONE-$((6*7))\r`,
    });
    const reply = await ann.ask(slowReplyPrompt(REPLY_DELTAS, 30));
    await waitFor(() => reply.chunks.length >= 3 && numberedLines(ann.terminals.get(loop)!.text).length >= 3, {
      message: 'output and reply to flow',
    });

    const admin = new Redis(system.cluster.redisUrl);
    const inputs: Array<{ n: number; outcome: string }> = [];
    try {
      for (let cut = 0; cut < 4; cut++) {
        const clients = (await admin.call('CLIENT', 'LIST')) as string;
        for (const match of clients.matchAll(/id=(\d+) [^\n]*name=ctos:(?:terminal|ai)-[^ ]*:cmd /g)) {
          await admin.call('CLIENT', 'KILL', 'ID', match[1]!);
        }
        const n = cut + 1;
        const ack = await ann.socket
          .timeout(4000)
          .emitWithAck('terminal:input', { session_id: typing, data: `echo IN$((${n}+0))\r` })
          .catch(() => undefined);
        inputs.push({ n, outcome: ack ? (ack.success ? 'ok' : ack.code) : 'no answer' });
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
    } finally {
      admin.disconnect();
    }

    const view = ann.terminals.get(loop)!;
    await waitFor(() => /DONE-42\r\n/.test(view.text), { timeoutMs: 20_000, message: 'the loop to finish' });
    expect(ann.reconnects).toEqual([]);
    expect(view.breaks).toEqual([]);
    expect(numberedLines(view.text)).toEqual(oneTo(LINES));
    await waitFor(() => reply.ended ?? reply.error, { timeoutMs: 15_000, message: 'the reply to end' });
    expect([reply.ended, RecoveringClient.text(reply)]).toEqual(['end_turn', slowReplyText(REPLY_DELTAS)]);
    const history = await ann.socket.timeout(5000).emitWithAck('ai:history', { conversation_id: reply.conversationId });
    if (!history.success) throw new Error(`ai:history: ${history.code}`);
    const stored = history.messages.find((m: AiHistoryMessage) => m.message_id === reply.messageId)!;
    expect([stored.status, stored.content]).toEqual(['complete', slowReplyText(REPLY_DELTAS)]);
    // Each keystroke ran once if acknowledged, at most once otherwise.
    ann.socket.emit('terminal:input', { session_id: typing, data: 'echo END-$((6*7))\r' });
    await waitFor(() => /END-42\r\n/.test(ann.terminals.get(typing)!.text), { message: 'the last input' });
    const ran = numberedLines(ann.terminals.get(typing)!.text, 'IN');
    for (const { n, outcome } of inputs) {
      expect([n, ran.filter((m) => m === n).length <= 1]).toEqual([n, true]);
      if (outcome === 'ok') expect([n, ran.filter((m) => m === n).length]).toEqual([n, 1]);
    }
  }, 60_000);
});
