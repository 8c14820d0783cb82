/**
 * The load and the checks of the Redis fault tests (faults-redis: Redis restarted, paused,
 * its pub/sub connections killed; faults-sentinel: the primary killed and a replica
 * promoted), on the real process topology: output on terminals followed through both
 * gateways, a reply streaming, a producer posting, a user typing, all through the fault.
 * What the README's fault table promises is checked exactly: no client connection is
 * closed; every terminal stream is whole byte for byte (compared with what the shell
 * wrote, as the worker recorded it), the reply is whole and complete, every acknowledged
 * message arrives once; keystrokes typed during the outage reach the shell once each, in
 * order, or are refused as not sent; the gateways ask their clients to catch up
 * (`connection:resync`) exactly when events may have been lost.
 */
import type { AiHistoryMessage } from '@ctos/protocol';
import { Redis } from 'ioredis';
import type { ClusterProcessInfo } from '../src/cluster';
import { waitFor, waitForValue } from '@ctos/testkit';
import {
  FAULT_ENV,
  logged,
  metric,
  numberedLines,
  oneTo,
  postWithRetries,
  readiness,
  RecoveringClient,
  slowReplyPrompt,
  slowReplyText,
  type FaultCluster,
  type Posted,
  type TerminalView,
} from './faults-support';

/** Lines each terminal prints (`L1`…), 30 ms apart: about 6 s of output spanning the fault. */
export const LINES = 150;
/** The reply: numbered words 60 ms apart, about 5 s. */
export const REPLY_DELTAS = 80;
export const REPLY_INTERVAL_MS = 60;
/** A process must be ready again this soon after Redis answers (the figure). */
export const RECOVERY_MS = 5000;
/** How long a gateway holds a keystroke the bus refuses: its BUS_REQUEST_TIMEOUT_MS. */
export const INPUT_HOLD_MS = Number(FAULT_ENV.BUS_REQUEST_TIMEOUT_MS);
/**
 * A keystroke whose hold ends at least this long after the gateways are ready again must
 * get through (ms): the gateway offers a held keystroke again every 100 ms, and the
 * readiness poll that dates "ready" runs every 20 ms.
 */
export const HOLD_SLACK_MS = 300;
/** A person typing: one line every this many ms, without waiting for the last one's answer. */
export const TYPING_INTERVAL_MS = 100;
/** Keystrokes, messages posted, and reply chunks that must follow recovery before the load stops. */
export const AFTER_RECOVERY = 3;
/** The processes that talk to Redis (all but nginx, Redis itself and the stand-in). */
export const SERVICES: ReadonlyArray<ClusterProcessInfo['role']> = [
  'gateway',
  'terminal-worker',
  'ai-worker',
  'message-worker',
];

/** One keystroke line typed during a test: when it was sent (performance.now()) and how it was answered. */
interface Typed {
  n: number;
  sentAt: number;
  outcome?: string;
}

/** How each fault is expected to look. */
export interface FaultShape {
  /** Processes report not ready (503) while it lasts. */
  notReady: boolean;
  /** Room events may have been lost: each gateway asks its clients to catch up once. */
  resync: boolean;
  /**
   * Workers' own connections drop: a chunk a worker could not confirm may come again,
   * whole and at its position (dropped there, as the page does). Otherwise none may.
   */
  resends: boolean;
}

/**
 * Acknowledged writes straight to the primary at `url`, racing a kill: INCRs of `key` one
 * after another until the first fails (no retry, no reconnect). `acknowledged()` is the
 * last value Redis answered; `stopped` settles at the first failure.
 */
export function countAcknowledgedWrites(
  url: string,
  key: string,
): { acknowledged(): number; stopped: Promise<void>; close(): void } {
  const raw = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  raw.on('error', () => undefined);
  let acknowledged = 0;
  const stopped = (async () => {
    for (;;) {
      try {
        acknowledged = await raw.incr(key);
      } catch {
        return;
      }
    }
  })();
  return { acknowledged: () => acknowledged, stopped, close: () => raw.disconnect() };
}

/** The port of the primary the run's Sentinel names now (`CLUSTER_REDIS=sentinel`). */
export async function namedPrimary(system: FaultCluster): Promise<number> {
  const sentinel = new Redis({
    host: '127.0.0.1',
    port: system.running('redis-sentinel')[0]!.ports.sentinel!,
    password: system.cluster.redisPassword,
  });
  try {
    const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'ctos')) as [string, string];
    return Number(port);
  } finally {
    sentinel.disconnect();
  }
}

/** The Redis fault harness of {@link faultHarness}. */
export type FaultHarness = ReturnType<typeof faultHarness>;

/**
 * Clients, load and checks on `system`: `underLoad(name, inject, shape)` runs one fault
 * under load and checks everything the README promises of it; `closeClients()` closes
 * every client it made (after each test).
 */
export function faultHarness(system: FaultCluster) {
  const clients: RecoveringClient[] = [];

  const services = (): ClusterProcessInfo[] => SERVICES.flatMap((role) => system.running(role));
  const gateway = (n: number): ClusterProcessInfo => system.running('gateway')[n]!;
  const connect = async (user: string, via: ClusterProcessInfo): Promise<RecoveringClient> => {
    const client = new RecoveringClient(`http://127.0.0.1:${via.port}`, await system.cluster.signToken(user));
    clients.push(client);
    return client.connected();
  };
  const apiPort = (): number => system.running('message-worker')[0]!.ports.api!;
  const resyncCounts = (): Promise<number[]> =>
    Promise.all(system.running('gateway').map((g) => metric(g, 'ctos_gateway_resyncs_total')));

  /** Types `echo IN<n>` lines into `session` like a person: one every TYPING_INTERVAL_MS, not waiting for answers. */
  const startTyping = (client: RecoveringClient, session: string) => {
    const typed: Typed[] = [];
    let typing = true;
    const answered: Array<Promise<void>> = [];
    const done = (async () => {
      for (let n = 1; typing; n++) {
        const entry: Typed = { n, sentAt: performance.now() };
        typed.push(entry);
        answered.push(
          client.socket
            .timeout(INPUT_HOLD_MS * 3)
            .emitWithAck('terminal:input', { session_id: session, data: `echo IN$((${n}+0))\r` })
            .then(
              (ack) => void (entry.outcome = ack.success ? 'ok' : ack.code),
              () => void (entry.outcome = 'no answer'),
            ),
        );
        await new Promise((resolve) => setTimeout(resolve, TYPING_INTERVAL_MS));
      }
      await Promise.all(answered);
    })();
    return {
      typed,
      stop: async () => {
        typing = false;
        await done;
      },
    };
  };

  /** Posts `<name>-<n>` to ann with retries, one after another, until stopped. */
  const startPosting = (name: string) => {
    const posted: Array<Posted & { at: number }> = [];
    let posting = true;
    const done = (async () => {
      for (let n = 1; posting; n++) {
        const result = await postWithRetries(apiPort, system.cluster.messageApiTokens[0]!, 'ann', `${name}-${n}`);
        posted.push({ ...result, at: performance.now() });
      }
    })();
    return {
      posted,
      stop: async () => {
        posting = false;
        await done;
      },
    };
  };

  /** Waits for the loop's end on `view`, then compares the whole stream with what the shell wrote, byte for byte. */
  const expectWholeStream = async (
    user: string,
    session: string,
    view: TerminalView,
    resends: boolean,
  ): Promise<void> => {
    await waitFor(() => /DONE-42\r\n/.test(view.text) || view.breaks.length > 0, {
      timeoutMs: 15_000,
      message: `${session} to finish (seq ${view.seq}, closed ${JSON.stringify(view.closed)}, ${numberedLines(view.text).length} lines, tail ${JSON.stringify(view.text.slice(-80))})`,
    });
    expect([session, view.breaks, view.closed]).toEqual([session, [], undefined]);
    expect([session, resends ? [] : view.repeats]).toEqual([session, []]);
    expect(numberedLines(view.text)).toEqual(oneTo(LINES));
    // What the shell wrote, as the worker recorded it: a replay from position 0.
    const probe = await connect(user, gateway(0));
    const truth = await waitForValue(
      async () => {
        const answer = await probe.socket
          .timeout(5000)
          .emitWithAck('terminal:attach', { session_id: session, since: 0, flow_control: false });
        return answer.success && answer.seq === view.seq ? answer : undefined;
      },
      { message: `the client's stream of ${session} to reach the shell's end` },
    );
    expect([session, truth.snapshot, view.stream.base]).toEqual([session, false, 0]);
    expect(view.text).toEqual(truth.data);
  };

  /**
   * Keystrokes: each acknowledged one ran once, each refused one never, in the order
   * typed; none hung; those whose hold outlasted the outage all got through — and, when
   * the outage lasted (`outage`), some typed during it did.
   */
  const expectTyped = async (
    bob: RecoveringClient,
    session: string,
    typed: Typed[],
    window: Window,
    outage: boolean,
  ) => {
    expect(typed.filter((t) => !['ok', 'UNAVAILABLE', 'TIMEOUT'].includes(t.outcome!))).toEqual([]);
    // Typed once the gateways knew of the outage (a keystroke written just before may be
    // caught in flight: TIMEOUT), and held long enough to outlast it: it must get through.
    const held = typed.filter(
      (t) => t.sentAt >= window.noticedAt && t.sentAt + INPUT_HOLD_MS >= window.readyAt + HOLD_SLACK_MS,
    );
    expect(held.filter((t) => t.outcome !== 'ok')).toEqual([]);
    if (outage) {
      const duringOutage = typed.filter((t) => t.sentAt >= window.faultAt && t.sentAt <= window.recoveredAt);
      expect(duringOutage.filter((t) => t.outcome === 'ok').length).toBeGreaterThan(0);
    }

    bob.socket.emit('terminal:input', { session_id: session, data: `echo DONE-INPUT-$((6*7))\r` });
    await waitFor(() => /DONE-INPUT-42\r\n/.test(bob.terminals.get(session)!.text), { message: 'the last input' });
    expect(bob.terminals.get(session)!.breaks).toEqual([]);
    const ran = numberedLines(bob.terminals.get(session)!.text, 'IN');
    // In order, none twice: the shell's lines increase strictly.
    expect(ran.filter((n, i) => i > 0 && n <= ran[i - 1]!)).toEqual([]);
    const times = (n: number): number => ran.filter((m) => m === n).length;
    const wrong = typed
      .filter((t) => !(t.outcome === 'ok' ? [1] : t.outcome === 'UNAVAILABLE' ? [0] : [0, 1]).includes(times(t.n)))
      .map((t) => `IN${t.n}: ${t.outcome}, ran ${times(t.n)} times`);
    const shown = wrong.length > 0 ? bob.terminals.get(session)!.text : '';
    expect({ wrong, shown }).toEqual({ wrong: [], shown: '' });
  };

  /**
   * When the fault began, when every process reported it (not ready; the fault's start
   * when it reports none), when Redis answered again, and when every process was ready
   * again (performance.now()).
   */
  interface Window {
    faultAt: number;
    noticedAt: number;
    recoveredAt: number;
    readyAt: number;
  }

  /**
   * Runs one fault under load — output on terminals followed through both gateways, a
   * reply streaming, a producer posting, a user typing — and checks everything the README
   * promises of a Redis fault (see the file's head).
   */
  const underLoad = async (
    name: string,
    inject: (marks: { faulted: () => void; recovered: () => void }) => Promise<void>,
    shape: FaultShape,
  ) => {
    const lineMarks = new Map([...system.lines].map(([process, lines]) => [process, lines.length]));
    const resyncsBefore = await resyncCounts();
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
    const producer = startPosting(name);
    const typist = startTyping(bob, typing);
    await waitFor(() => producer.posted.length > 0 && typist.typed.some((t) => t.outcome === 'ok'), {
      message: 'messages and keystrokes to flow before the fault',
    });

    const window: Window = { faultAt: 0, noticedAt: 0, recoveredAt: 0, readyAt: 0 };
    const injected = inject({
      faulted: () => (window.faultAt = performance.now()),
      recovered: () => (window.recoveredAt = performance.now()),
    });
    if (shape.notReady) {
      await waitFor(async () => (await readiness(services())).every((status) => status === 503), {
        timeoutMs: 4000,
        message: 'every process to report not ready during the outage',
      });
      window.noticedAt = performance.now();
    }
    await injected;
    window.noticedAt ||= window.faultAt;
    await waitFor(async () => (await readiness(services())).every((status) => status === 200), {
      timeoutMs: RECOVERY_MS,
      message: `every process to be ready again within ${RECOVERY_MS} ms of Redis answering`,
    });
    window.readyAt = performance.now();

    // Load goes on after recovery, then stops.
    await waitFor(
      () =>
        typist.typed.filter((t) => t.sentAt > window.readyAt && t.outcome === 'ok').length >= AFTER_RECOVERY &&
        producer.posted.filter((p) => p.at > window.readyAt).length >= AFTER_RECOVERY,
      { message: 'keystrokes and messages to flow after recovery' },
    );
    await Promise.all([producer.stop(), typist.stop()]);

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

    // Terminal output is whole on both gateways, byte for byte.
    for (const [client, user, session] of [
      [ann1, 'ann', loop],
      [ann2, 'ann', loop],
      [bob, 'bob', bobLoop],
    ] as const) {
      await expectWholeStream(user, session, client.terminals.get(session)!, shape.resends);
    }
    await expectTyped(bob, typing, typist.typed, window, shape.notReady);

    // The reply: whole, complete, stored as it was shown.
    await waitForValue(() => reply.ended ?? reply.error, { timeoutMs: 15_000, message: 'the reply to end' });
    expect([reply.ended, reply.error, reply.conflicts]).toEqual(['end_turn', undefined, undefined]);
    expect(RecoveringClient.text(reply)).toEqual(slowReplyText(REPLY_DELTAS));
    const history = await ann1.socket
      .timeout(5000)
      .emitWithAck('ai:history', { conversation_id: reply.conversationId });
    if (!history.success) throw new Error(`ai:history: ${history.code}`);
    const stored = history.messages.find((m: AiHistoryMessage) => m.message_id === reply.messageId)!;
    expect([stored.status, stored.content]).toEqual(['complete', slowReplyText(REPLY_DELTAS)]);

    // Every message the producer API acknowledged reaches both of ann's sockets, and none other of this run.
    const acked = producer.posted.flatMap((p) => p.ids).sort((a, b) => a - b);
    expect(producer.posted.filter((p) => p.ids.length !== 1)).toEqual([]);
    for (const client of [ann1, ann2]) {
      await waitFor(() => acked.every((id) => client.messages.has(id)), {
        timeoutMs: 10_000,
        message: `every acknowledged message on ${client.socket.id}`,
      });
      const mine = [...client.messages.values()].filter((m) => m.title.startsWith(`${name}-`)).map((m) => m.id);
      expect(mine.sort((a, b) => a - b)).toEqual(acked);
    }

    // A room emit after the fault reaches sockets on both gateways.
    const after = await postWithRetries(apiPort, system.cluster.messageApiTokens[0]!, 'ann', `after-${name}`);
    for (const client of [ann1, ann2]) {
      await waitFor(() => client.messages.has(after.ids[0]!), { timeoutMs: 3000, message: 'the emit after the fault' });
    }

    // Nobody's connection was closed; the gateways asked for a catch-up exactly when events may have been lost.
    for (const client of [ann1, ann2, bob]) {
      expect([client.disconnects, client.reconnects]).toEqual([[], []]);
      expect(client.hints).toEqual(shape.resync ? [{ reason: 'room_events_lost' }] : []);
    }
    const resyncs = await resyncCounts();
    expect(resyncs.map((n, i) => n - resyncsBefore[i]!)).toEqual(resyncs.map(() => (shape.resync ? 1 : 0)));

    // Each process logged the outage once, not once per operation.
    const since = (process: string): number => lineMarks.get(process) ?? 0;
    for (const p of services()) {
      const down = logged(system.lines, p.name, 'redis unreachable', since(p.name));
      const up = logged(system.lines, p.name, 'redis reachable again', since(p.name));
      const failedEmits = logged(system.lines, p.name, 'room emit failed', since(p.name));
      expect([p.name, down.length, up.length, failedEmits.length <= 1]).toEqual([p.name, 1, 1, true]);
    }
    // Nobody was declared dead.
    for (const p of system.running('gateway')) {
      expect(logged(system.lines, p.name, 'terminal worker lost', since(p.name))).toEqual([]);
      expect(logged(system.lines, p.name, 'ai worker lost; its replies are marked interrupted', since(p.name))).toEqual(
        [],
      );
    }
  };

  return {
    connect,
    gateway,
    underLoad,
    closeClients: () => {
      for (const client of clients.splice(0)) client.close();
    },
  };
}
