import { randomUUID } from 'node:crypto';
import { rooms, type MessageItem } from '@ctos/protocol';
import { waitFor } from '@ctos/testkit';
import { createRedisTransport } from '@ctos/transport';
import type { FleetSocketSpec } from '../fleet-protocol';
import { wallClockMs } from '../ipc';
import type { FigureRow } from '../report';
import { attempt, type RunContext } from '../run-context';
import { SocketFleet, socketSpecs, split } from '../socket-fleet';
import type { ClusterSystem } from '../systems';

/** Producer requests in flight at once: a busy producer, not a flood of them. */
const POST_CONCURRENCY = 4;
/** Every delivery of a measured batch arrives well within this (ms). */
const DELIVERY_TIMEOUT_MS = 120_000;
/** Issues 8 and 17: at least this many deliveries per second across two gateways… */
const MIN_DELIVERIES_PER_SECOND = 20_000;
/** …and issue 17: at least this share of what the Redis emitter alone delivers. */
const MIN_SHARE_OF_EMITTER = 0.8;
/** How long the emitter's own Redis connection may take to be ready (ms). */
const EMITTER_READY_TIMEOUT_MS = 10_000;
/** First loopback octet of the fan-out clients' addresses (the idle-socket figure uses others). */
const FIRST_OCTET = 5;

/** Posts one message to every user in `users` through the producer API. @throws Error unless 201. */
async function post(system: ClusterSystem, users: string[], n: number): Promise<void> {
  const response = await fetch(`${system.messageApi.url}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${system.messageApi.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_ids: users, source: 'bench', title: `Benchmark message ${n}`, content: '' }),
  });
  await response.arrayBuffer();
  if (response.status !== 201) throw new Error(`POST /messages answered ${response.status}`);
}

/** Runs `count` tasks, `limit` at a time. */
async function inParallel(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
}

/** What figure 6 measured. */
interface FanoutMeasurement {
  /** Messages × sockets: the `message:new` events each measured batch delivers. */
  deliveries: number;
  /** From the first POST to the last delivery (ms). */
  systemMs: number;
  /** From the first emit to the last delivery (ms). */
  emitMs: number;
  /** Deliveries per second through the producer API. */
  system: number;
  /** Deliveries per second from the Redis emitter alone. */
  emitterOnly: number;
}

/**
 * Resolves with the wall-clock ms when every fleet has had `batch` more messages per
 * socket. @throws Error saying how many arrived when they do not all arrive in time.
 */
type DeliveredAll = (batch: number) => Promise<number>;

/**
 * Figure 6: BENCH_FANOUT_SOCKETS sockets, one user each, half connected to each of the
 * two gateways directly; BENCH_FANOUT_MESSAGES messages posted to all of them through
 * the message-worker's producer API (stored per user, then `message:new` to each user's
 * room). Deliveries per second from the first POST to the last `message:new` received.
 * Baseline: the same number of `message:new` emitted straight into the same rooms with
 * the Redis emitter, no store — what the delivery path alone can carry.
 */
export async function fanoutFigure(context: RunContext, system: ClusterSystem): Promise<FigureRow[]> {
  const sockets = context.config.BENCH_FANOUT_SOCKETS;
  const messages = context.config.BENCH_FANOUT_MESSAGES;
  context.progress(`6 fan-out: ${messages} messages to ${sockets} sockets over two gateways`);
  const measured = await attempt(context, 'message fan-out', () => measureFanout(context, system));
  context.details.fanout = measured;
  return [
    {
      key: 'fanout.deliveries_per_second',
      figure: 6,
      label: `message fan-out to ${sockets} sockets on two gateways`,
      value: measured?.system ?? null,
      unit: 'deliveries/s',
      baseline: measured?.emitterOnly ?? null,
      baselineLabel: '(Redis emitter only, no store)',
      comparison: 'ratio',
      target: `≥ ${MIN_SHARE_OF_EMITTER} × baseline and ≥ ${MIN_DELIVERIES_PER_SECOND.toLocaleString('en-US')}/s`,
      met: measured
        ? measured.system >= MIN_SHARE_OF_EMITTER * measured.emitterOnly && measured.system >= MIN_DELIVERIES_PER_SECOND
        : null,
      ...(measured
        ? {
            note: `${measured.deliveries} deliveries in ${Math.round(measured.systemMs)} ms (emitter only: ${Math.round(measured.emitMs)} ms)`,
          }
        : {}),
    },
  ];
}

/** Connects two fleets, one per gateway, warms the path up, then times both ways of delivering. */
async function measureFanout(context: RunContext, system: ClusterSystem): Promise<FanoutMeasurement> {
  const sockets = context.config.BENCH_FANOUT_SOCKETS;
  const messages = context.config.BENCH_FANOUT_MESSAGES;
  const specs = socketSpecs(`fan-${randomUUID().slice(0, 8)}`, sockets, FIRST_OCTET);
  const users = specs.map((s) => s.user);
  const halves = split(specs, 2);
  const fleets = await Promise.all(
    halves.map((_, i) => SocketFleet.start(context.owned, `fleet-fanout-${i}`, context.env)),
  );
  try {
    const outcomes = await Promise.all(
      fleets.map((fleet, i) =>
        fleet.connect(`http://127.0.0.1:${system.gateways[i]!.port}`, halves[i]!, system.cluster.jwtSecret),
      ),
    );
    const failed = outcomes.reduce((n, o) => n + o.failed, 0);
    if (failed > 0)
      throw new Error(`${failed} sockets did not connect: ${outcomes.flatMap((o) => o.errors).join(' | ')}`);
    const deliveredAll = deliveryWatch(fleets, halves);

    // Warm-up: one message, so every connection, lock and script is hot.
    const warm = deliveredAll(1);
    await post(system, users, 0);
    await warm;

    const systemDone = deliveredAll(messages);
    const systemStart = wallClockMs();
    await inParallel(messages, POST_CONCURRENCY, (i) => post(system, users, i + 1));
    const systemMs = (await systemDone) - systemStart;
    const emitMs = await timeEmitterOnly(system, users, messages, deliveredAll);
    const deliveries = messages * sockets;
    return {
      deliveries,
      systemMs,
      emitMs,
      system: deliveries / (systemMs / 1000),
      emitterOnly: deliveries / (emitMs / 1000),
    };
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.close()));
  }
}

/**
 * Counts what each fleet must have received: every call of the result adds `batch`
 * messages per socket of its half to the fleet's target (at once, when it is called).
 */
function deliveryWatch(fleets: readonly SocketFleet[], halves: readonly FleetSocketSpec[][]): DeliveredAll {
  const expected = fleets.map(() => 0);
  const waitForDeliveries = async (batch: number): Promise<number> => {
    const targets = fleets.map((_, i) => (expected[i]! += batch * halves[i]!.length));
    try {
      return Math.max(...(await Promise.all(fleets.map((fleet, i) => fleet.expect(targets[i]!, DELIVERY_TIMEOUT_MS)))));
    } catch (error) {
      const counts = await Promise.all(fleets.map((fleet) => fleet.count()));
      throw new Error(
        `${(error as Error).message}: ${counts.join(' + ')} of ${targets.join(' + ')} message:new arrived`,
        {
          cause: error,
        },
      );
    }
  };
  return (batch) => {
    const waiting = waitForDeliveries(batch);
    // Awaited by the caller later; until then a failed POST must not leave it rejecting unheard.
    waiting.catch(() => undefined);
    return waiting;
  };
}

/**
 * The baseline: `messages` `message:new` per user emitted straight into the users' rooms
 * with the Redis emitter (no store), from the first emit to the last delivery (ms).
 * @throws Error when an emit fails or the deliveries do not all arrive.
 */
async function timeEmitterOnly(
  system: ClusterSystem,
  users: readonly string[],
  messages: number,
  deliveredAll: DeliveredAll,
): Promise<number> {
  const emitErrors: string[] = [];
  const transport = createRedisTransport({
    redis: { url: system.cluster.redisUrl },
    prefix: system.cluster.redisPrefix,
    id: `bench-emitter-${randomUUID().slice(0, 8)}`,
    observer: { onEmitError: (error) => emitErrors.push(String(error)) },
  });
  try {
    // An emit on a connection that is not ready yet is dropped (and reported), not queued.
    await waitFor(() => transport.healthy(), {
      timeoutMs: EMITTER_READY_TIMEOUT_MS,
      message: 'the emitter connection to Redis',
    });
    const emitDone = deliveredAll(messages);
    const emitStart = wallClockMs();
    for (let m = 0; m < messages; m++) {
      const payload = benchItem(m + 1);
      await Promise.all(users.map((user) => transport.emitter.emit(rooms.user(user), 'message:new', payload)));
    }
    if (emitErrors.length > 0) throw new Error(`${emitErrors.length} emits failed: ${emitErrors[0]}`);
    return (await emitDone) - emitStart;
  } finally {
    await transport.dispose();
  }
}

/** The message item the emitter sends as message `id`, as the message-worker would have stored it. */
function benchItem(id: number): MessageItem {
  return {
    id,
    severity: 'info',
    source: 'bench',
    category: 'general',
    title: `Benchmark emit ${id}`,
    content: '',
    created_at: new Date().toISOString(),
    read: false,
  };
}
