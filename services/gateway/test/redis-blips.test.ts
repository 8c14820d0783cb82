/**
 * A Redis blip costs a catch-up, not a reconnect (docs/decisions/0011): a gateway whose
 * room subscription was cut, or which the cluster declared dead while it was alive,
 * keeps every connection and sends `connection:resync`; the client attaches again on the
 * same socket from its `seq` and the stream goes on whole, byte for byte. Keystrokes
 * typed while Redis is down reach the shell once each, in order.
 *
 * Real processes (`npm run build` first): a Redis of the test's own, a terminal-worker,
 * a gateway; heartbeats every 200 ms, dead after three missed.
 */
import type { ResyncEvent, TerminalSessionInfo } from '@ctos/protocol';
import {
  type ClientSocket,
  connectClient,
  OutputCollector,
  type OwnRedis,
  type ServiceProcess,
  signToken,
  startOwnRedis,
  startService,
  TEST_JWT_SECRET,
  uniquePrefix,
  waitFor,
  waitForValue,
} from '@ctos/testkit';
import { Redis } from 'ioredis';

/** Lines the output loop prints, 20 ms apart: it runs through the fault. */
const LINES = 100;
/** Keystrokes typed while Redis is down, one per typing interval. */
const TYPED_IN_OUTAGE = 10;
/** A person typing: one line every this many ms. */
const TYPING_INTERVAL_MS = 100;

/** A socket that remembers every disconnect and every resync hint. */
interface Watched {
  socket: ClientSocket;
  disconnects: string[];
  hints: ResyncEvent[];
}

/** The numbered lines `<tag><n>` of a terminal's text, in order. */
function numbered(text: string, tag: string): number[] {
  return [...text.matchAll(new RegExp(`(?<=[\\r\\n])${tag}(\\d+)\\r\\n`, 'g'))].map((m) => Number(m[1]));
}

function oneTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

describe('Redis blips without reconnects (gateway, terminal-worker, own Redis)', () => {
  const prefix = uniquePrefix('blips');
  let redis: OwnRedis;
  let gateway: ServiceProcess;
  const processes: ServiceProcess[] = [];
  const sockets: ClientSocket[] = [];

  const connect = async (): Promise<Watched> => {
    const socket = await connectClient(`http://127.0.0.1:${gateway.port}`, await signToken('blip-user'));
    sockets.push(socket);
    const watched: Watched = { socket, disconnects: [], hints: [] };
    socket.on('disconnect', (reason) => watched.disconnects.push(reason));
    socket.on('connection:resync', (event) => watched.hints.push(event));
    return watched;
  };
  /** A session printing LINES numbered lines, followed from its first byte. */
  const outputLoop = async (client: Watched): Promise<OutputCollector> => {
    const created = await waitForValue(async () => {
      const answer = await client.socket.timeout(5000).emitWithAck('terminal:create', { cols: 80, rows: 24 });
      return answer.success ? answer : undefined; // the worker may not be registered yet
    });
    const out = new OutputCollector(client.socket, created.session_id);
    client.socket.emit('terminal:input', {
      session_id: created.session_id,
      data: `for i in $(seq 1 ${LINES}); do echo L$i; sleep 0.02; done; echo DONE-$((6*7))\r`,
    });
    await out.waitForText(/[\r\n]L3\r\n/);
    return out;
  };
  /** The whole stream as the worker recorded it: a fresh attach from position 0. */
  const recorded = async (sessionId: string): Promise<{ data: string; seq: number }> => {
    const fresh = await connect();
    const answer = await fresh.socket.emitWithAck('terminal:attach', { session_id: sessionId, since: 0 });
    if (!answer.success) throw new Error(`attach: ${answer.code}`);
    expect(answer.snapshot).toBe(false);
    return answer;
  };
  /** Waits for the loop's end, then compares what the client has with what the shell wrote. */
  const expectWhole = async (out: OutputCollector): Promise<void> => {
    await out.waitForText(/[\r\n]DONE-42\r\n/, 20_000);
    out.assertWhole();
    expect(numbered(out.text, 'L')).toEqual(oneTo(LINES));
    const truth = await recorded(out.sessionId);
    await waitFor(() => out.seq >= truth.seq, { message: 'the client to hold everything the shell wrote' });
    // The collector listens from the create's answer on: the prompt may have come before.
    const from = out.base ?? 0;
    expect(from).toBeLessThan(Buffer.byteLength(truth.data.split('\n')[0]!, 'utf8'));
    expect(out.text).toEqual(Buffer.from(truth.data, 'utf8').subarray(from).toString('utf8'));
  };
  const readyz = async (): Promise<number> => {
    const response = await fetch(`http://127.0.0.1:${gateway.port}/readyz`).catch(() => undefined);
    return response?.status ?? 0;
  };

  beforeAll(async () => {
    redis = await startOwnRedis();
    const common = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      HEARTBEAT_INTERVAL_MS: '200',
      HEARTBEAT_MISSED_BEATS: '3',
    };
    processes.push(
      await startService('terminal-worker', {
        ...common,
        OPS_PORT: '0',
        TERMINAL_ISOLATION: 'none',
        TERMINAL_SHELL: '/bin/bash',
        TERMINAL_SHELL_ARGS: '--norc --noprofile',
      }),
    );
    gateway = await startService('gateway', { ...common, PORT: '0', AUTH_JWT_SECRET: TEST_JWT_SECRET });
    processes.push(gateway);
  }, 30_000);

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGCONT');
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    await redis?.stop();
  });

  it('keeps its connections through a pub/sub reset, and the terminal catches up byte for byte', async () => {
    const client = await connect();
    const out = await outputLoop(client);

    const admin = new Redis(redis.url);
    try {
      expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
    } finally {
      admin.disconnect();
    }

    await waitFor(() => client.hints.length + client.disconnects.length > 0, { message: 'connection:resync' });
    expect(client.disconnects).toEqual([]);
    await expectWhole(out);
    expect(client.hints).toEqual([{ reason: 'room_events_lost' }]);
    expect(out.resyncs).toBe(1);
    expect(client.disconnects).toEqual([]);
  });

  it('keeps its connections through a Redis restart; keystrokes typed meanwhile reach the shell once, in order', async () => {
    const client = await connect();
    const out = await outputLoop(client);
    const typing = await connect();
    const created = await typing.socket.emitWithAck('terminal:create', { cols: 80, rows: 24 });
    if (!created.success) throw new Error(created.error);
    const typed = new OutputCollector(typing.socket, created.session_id);

    redis.signal('SIGKILL');
    await waitFor(async () => (await readyz()) === 503, { message: 'the gateway to notice the outage' });
    const outcomes: Array<Promise<string>> = [];
    for (let n = 1; n <= TYPED_IN_OUTAGE; n++) {
      const answer = typing.socket
        .timeout(15_000)
        .emitWithAck('terminal:input', { session_id: created.session_id, data: `echo IN$((${n}+0))\r` });
      outcomes.push(answer.then((ack) => (ack.success ? 'ok' : ack.code)).catch(() => 'no answer'));
      await new Promise((resolve) => setTimeout(resolve, TYPING_INTERVAL_MS));
    }
    expect(await readyz()).toBe(503); // all of it was typed while Redis was down
    await redis.restart();

    expect(await Promise.all(outcomes)).toEqual(Array.from({ length: TYPED_IN_OUTAGE }, () => 'ok'));
    await typed.waitForText(new RegExp(`[\\r\\n]IN${TYPED_IN_OUTAGE}\\r\\n`), 15_000);
    expect(numbered(typed.text, 'IN')).toEqual(oneTo(TYPED_IN_OUTAGE));
    await expectWhole(out);
    expect(client.hints).toEqual([{ reason: 'room_events_lost' }]);
    expect([client.disconnects, typing.disconnects]).toEqual([[], []]);
  }, 60_000);

  it('keeps its connections when declared dead while alive, and re-attaches them on the same sockets', async () => {
    const client = await connect();
    const out = await outputLoop(client);

    // Stopped until the cluster declares it dead (its registry entry reaped): the worker
    // drops this gateway's attachments.
    const admin = new Redis(redis.url);
    try {
      const registered = `${prefix}:reg:gateway`;
      await expect(admin.zcard(registered)).resolves.toBe(1);
      gateway.child.kill('SIGSTOP');
      await waitFor(async () => (await admin.zcard(registered)) === 0, { message: 'the gateway declared dead' });
    } finally {
      gateway.child.kill('SIGCONT');
      admin.disconnect();
    }

    await waitFor(() => client.hints.length + client.disconnects.length > 0, { message: 'connection:resync' });
    expect(client.disconnects).toEqual([]);
    expect(client.hints).toEqual([{ reason: 'gateway_declared_dead' }]);
    await waitFor(
      async () => {
        const list = await client.socket.timeout(2000).emitWithAck('terminal:list', {});
        return (
          list.success && list.sessions.find((s: TerminalSessionInfo) => s.session_id === out.sessionId)?.attached === 1
        );
      },
      { message: 'the session attached to the socket again' },
    );
    await expectWhole(out);
    expect(client.disconnects).toEqual([]);
  }, 30_000);
});
