/**
 * Issue 10, faults 1–3, and issue 22's "blips without reconnects": Redis restarted,
 * paused, and its pub/sub connections killed, while terminals print, a reply streams,
 * messages are posted and a user types — on the real process topology (cluster launcher:
 * its own redis-server with AOF, two gateways, two terminal-workers, an ai-worker on the
 * Anthropic stand-in, a message-worker). What the README's fault table promises is
 * checked exactly: no client connection is closed; every terminal stream is whole byte
 * for byte (compared with what the shell wrote, as the worker recorded it), the reply is
 * whole and complete, every acknowledged message arrives once; keystrokes typed during
 * the outage reach the shell once each, in order, or are refused as not sent; the
 * gateways ask their clients to catch up (`connection:resync`) exactly when events may
 * have been lost.
 *
 * Scaled down from the issue: the 30 s pause is 6 s (six death deadlines at the suite's
 * heartbeat: long enough for everyone to look dead), terminals print 150 lines.
 */
import type { AiHistoryMessage } from '@ctos/protocol';
import { Redis } from 'ioredis';
import { waitFor, waitForValue } from '@ctos/testkit';
import {
  numberedLines,
  oneTo,
  RecoveringClient,
  slowReplyPrompt,
  slowReplyText,
  startFaultCluster,
  type FaultCluster,
} from './faults-support';
import {
  countAcknowledgedWrites,
  faultHarness,
  INPUT_HOLD_MS,
  LINES,
  REPLY_DELTAS,
  type FaultHarness,
} from './faults-under-load';

/** The pause of fault 2 (the 30 s, scaled to the suite's 1 s death deadline). */
const PAUSE_MS = 6000;
describe('Redis faults on the process cluster', () => {
  let system: FaultCluster;
  let harness: FaultHarness;
  const connect: FaultHarness['connect'] = (user, via) => harness.connect(user, via);
  const gateway: FaultHarness['gateway'] = (n) => harness.gateway(n);
  const underLoad: FaultHarness['underLoad'] = (name, inject, shape) => harness.underLoad(name, inject, shape);

  beforeAll(async () => {
    system = await startFaultCluster();
    harness = faultHarness(system);
  }, 60_000);

  afterEach(() => harness?.closeClients());

  afterAll(async () => {
    await system?.stop();
  });

  it('survives Redis being SIGKILLed and started again on the same port, losing no acknowledged write', async () => {
    // Acknowledged writes straight to Redis, racing the kill: the AOF (appendfsync everysec)
    // holds every one of them when Redis comes back (the README's promise for a process crash).
    const counter = `${system.cluster.redisPrefix}:faults:counter`;
    const writes = countAcknowledgedWrites(system.cluster.redisUrl, counter);

    try {
      await underLoad(
        'restart',
        async ({ faulted, recovered }) => {
          await system.cluster.signal('redis', 'SIGKILL');
          faulted();
          await writes.stopped;
          // Back within 2 s, on the same port and AOF folder.
          await new Promise((resolve) => setTimeout(resolve, 1000));
          await system.cluster.restartRedis();
          recovered();
        },
        { notReady: true, resync: true, resends: true },
      );
    } finally {
      writes.close();
    }

    const check = new Redis(system.cluster.redisUrl);
    try {
      const kept = Number(await check.get(counter));
      // Every acknowledged INCR survived; at most the one in flight at the kill went in unacknowledged.
      expect(writes.acknowledged()).toBeGreaterThan(0);
      expect([writes.acknowledged(), writes.acknowledged() + 1]).toContain(kept);
    } finally {
      check.disconnect();
    }
  }, 90_000);

  it('survives Redis being paused longer than the death deadline without declaring anyone dead', async () => {
    await underLoad(
      'pause',
      async ({ faulted, recovered }) => {
        await system.cluster.signal('redis', 'SIGSTOP');
        faulted();
        await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
        await system.cluster.signal('redis', 'SIGCONT');
        recovered();
      },
      { notReady: true, resync: false, resends: false },
    );
    // Every worker is still registered and serving: new sessions open.
    const probe = await connect('carol', gateway(0));
    await probe.createTerminal();
  }, 90_000);

  it('survives its pub/sub connections being killed while Redis stays up', async () => {
    await underLoad(
      'pubsub',
      async ({ faulted, recovered }) => {
        const admin = new Redis(system.cluster.redisUrl);
        try {
          expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
          faulted();
        } finally {
          admin.disconnect();
        }
        recovered();
      },
      { notReady: false, resync: true, resends: false },
    );
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
          .timeout(INPUT_HOLD_MS * 3)
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
    expect([ann.disconnects, ann.reconnects, ann.hints]).toEqual([[], [], []]);
    expect(view.breaks).toEqual([]);
    expect(numberedLines(view.text)).toEqual(oneTo(LINES));
    await waitForValue(() => reply.ended ?? reply.error, { timeoutMs: 15_000, message: 'the reply to end' });
    expect([reply.ended, RecoveringClient.text(reply)]).toEqual(['end_turn', slowReplyText(REPLY_DELTAS)]);
    const history = await ann.socket.timeout(5000).emitWithAck('ai:history', { conversation_id: reply.conversationId });
    if (!history.success) throw new Error(`ai:history: ${history.code}`);
    const stored = history.messages.find((m: AiHistoryMessage) => m.message_id === reply.messageId)!;
    expect([stored.status, stored.content]).toEqual(['complete', slowReplyText(REPLY_DELTAS)]);
    // Each keystroke ran once if acknowledged, never if refused, at most once if its outcome is unknown.
    ann.socket.emit('terminal:input', { session_id: typing, data: 'echo END-$((6*7))\r' });
    await waitFor(() => /END-42\r\n/.test(ann.terminals.get(typing)!.text), { message: 'the last input' });
    const ran = numberedLines(ann.terminals.get(typing)!.text, 'IN');
    for (const { n, outcome } of inputs) {
      const expected = outcome === 'ok' ? [1] : outcome === 'UNAVAILABLE' ? [0] : [0, 1];
      expect([n, outcome, expected.includes(ran.filter((m) => m === n).length)]).toEqual([n, outcome, true]);
    }
  }, 60_000);
});
