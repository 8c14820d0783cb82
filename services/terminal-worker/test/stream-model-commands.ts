import { waitFor } from '@ctos/testkit';
import fc from 'fast-check';
import { checkAnswer, settle } from './stream-model-checks';
import {
  GATEWAYS,
  MAX_VIEWERS,
  PATTERNS,
  print,
  REQUEST_TIMEOUT_MS,
  type Command,
  type OutputSpec,
  type StreamModel,
  type StreamSystem,
} from './stream-model';
import { Viewer } from './stream-model-viewer';

/** Where an attach starts: the client's own position, one before it, 0, past the end, or none. */
export type SinceKind = 'own' | 'older' | 'zero' | 'future' | 'absent';

/** How a command loses a gateway. */
type Loss = 'cut' | 'replaced';

const describeSpec = (spec: OutputSpec): string =>
  `${spec.lines}×p${spec.pattern}${spec.tail ? '+tail' : ''}${spec.paced ? ' paced' : ''}`;

/** How an attach's `flow_control` reads in a counterexample. */
const flowLabel = (flowControl: boolean | undefined): string =>
  flowControl === undefined ? 'default flow control' : flowControl ? 'flow control' : 'no flow control';

/** The indices of the first user's attached clients. */
const attachedClients = (model: Readonly<StreamModel>): number[] =>
  model.viewers.flatMap((viewer, i) => (viewer.user === 0 && viewer.attached ? [i] : []));

/** Where the worker's output of `user`'s session stands now. */
function level(system: StreamSystem, user: number): number {
  return system.cluster.session(system.sessions[user]!)?.seq ?? 0;
}

/**
 * Attaches client `index` from `since` (continuing its view when `since` is its own
 * position) and checks the answer against the model; the model then has it attached
 * with `flowControl`, its exact bytes starting where the answer says.
 */
export async function attachClient(
  model: StreamModel,
  system: StreamSystem,
  index: number,
  request: { since: number | undefined; flowControl: boolean | undefined; racing?: boolean },
): Promise<string> {
  const viewer = system.viewers[index]!;
  const state = model.viewers[index]!;
  const { since, flowControl } = request;
  const fresh = since === undefined || since !== viewer.seq || viewer.start === undefined;
  const before = level(system, state.user);
  // Racing output may be on its way to a socket attached already, never to a new one:
  // the gateway reads room events and the answer in the order the worker sent them.
  const attachedHere = viewer.attachment === viewer.connection.id;
  const mayOverlap = (request.racing ?? false) && attachedHere;
  const answer = await viewer.attach(since, { fresh, flowControl, mayOverlap });
  const from = await checkAnswer(model.users[state.user]!.bytes, since, answer, {
    level: before,
    replayBytes: system.cluster.config.TERMINAL_REPLAY_BYTES,
  }).catch((error: unknown) => {
    throw new Error(`${viewer.label}: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (fresh || answer.snapshot) state.from = from;
  state.attached = true;
  // An attach asks for flow control unless it says otherwise (README).
  state.flowControl = flowControl ?? true;
  return `${answer.snapshot ? 'snapshot' : 'replay'} to ${answer.seq}`;
}

/**
 * Client `index`, whose connection is gone, connects through `gateway` and attaches from
 * its own position (with flow control as it had, unless `flowControl` says); `racing`:
 * output was started just before.
 */
export async function comeBack(
  model: StreamModel,
  system: StreamSystem,
  index: number,
  options: { gateway: number; flowControl?: boolean; racing?: boolean },
): Promise<string> {
  const viewer = system.viewers[index]!;
  const state = model.viewers[index]!;
  const socket = await system.cluster.connect(system.users[state.user]!, options.gateway);
  system.sockets.push(socket);
  viewer.use(socket);
  state.gateway = options.gateway;
  const since = viewer.seq;
  const flowControl = options.flowControl ?? state.flowControl;
  const answer = await attachClient(model, system, index, { since, flowControl, racing: options.racing });
  return `${viewer.label} from ${since}: ${answer}`;
}

/** The shell of one user prints an output: lines of a pattern, perhaps a tail with no line break. */
class Output implements Command {
  constructor(
    readonly user: number,
    readonly spec: OutputSpec,
  ) {}
  check = (): boolean => true;
  async run(model: StreamModel, system: StreamSystem): Promise<void> {
    const n = await print(model, system, this.user, this.spec);
    system.log.push(`output ${n} of ${this.user === 0 ? 'alice' : 'bob'} (${describeSpec(this.spec)})`);
    await settle(model, system);
  }
  toString = (): string => `output(${this.user === 0 ? 'alice' : 'bob'}, ${describeSpec(this.spec)})`;
}

/**
 * A client of the first user attaches: a new one (a second tab) through `gateway`, or
 * an existing one — again on its own socket (the new attachment replaces the old), or,
 * when its connection is gone, on a new one through `gateway`. From its own position,
 * one `offset` bytes older, 0, one past the end, or none. With `during`, the shell
 * prints an output just before, which races the attach.
 */
class Attach implements Command {
  constructor(
    readonly pick: number,
    readonly gateway: number,
    readonly since: SinceKind,
    readonly offset: number,
    readonly flowControl: boolean | undefined,
    readonly during?: OutputSpec,
  ) {}
  check = (): boolean => true;
  async run(model: StreamModel, system: StreamSystem): Promise<void> {
    const count = model.viewers.filter((viewer) => viewer.user === 0).length;
    const mine = model.viewers.flatMap((viewer, i) => (viewer.user === 0 ? [i] : []));
    const target = this.pick % (count + 1);
    let index: number;
    if (target === count && count < MAX_VIEWERS) {
      index = model.viewers.length;
      system.viewers.push(new Viewer(`client ${index} (alice)`, system.sessions[0]!));
      model.viewers.push({ user: 0, attached: false, gateway: this.gateway, flowControl: false, from: 0 });
    } else index = mine[target % count]!;
    const viewer = system.viewers[index]!;
    const state = model.viewers[index]!;
    if (!viewer.connected) {
      const socket = await system.cluster.connect(system.users[0]!, this.gateway);
      system.sockets.push(socket);
      viewer.use(socket);
      state.gateway = this.gateway;
    }
    const own = viewer.start === undefined ? level(system, 0) : viewer.seq;
    const since = {
      own,
      older: Math.max(0, own - this.offset),
      zero: 0,
      future: level(system, 0) + 1 + this.offset,
      absent: undefined,
    }[this.since];
    // Past the end the view restarts at the answer's position, and a chunk sent to this
    // socket before the new attachment lies below it: TerminalStream cannot tell that from
    // an overlap. So an attach from past the end gets no racing output.
    const during = this.during && this.since !== 'future' ? await print(model, system, 0, this.during) : undefined;
    const answer = await attachClient(model, system, index, {
      since,
      flowControl: this.flowControl,
      racing: during !== undefined,
    });
    system.log.push(
      `attach(${viewer.label} via gateway ${state.gateway}, since ${since} (${this.since}), ${flowLabel(this.flowControl)}${during ? `, racing output ${during}` : ''}): ${answer}`,
    );
    await settle(model, system);
  }
  toString = (): string =>
    `attach(client #${this.pick}, gateway ${this.gateway}, ${this.since}${this.since === 'older' || this.since === 'future' ? ` ${this.offset}` : ''}, ${flowLabel(this.flowControl)}${this.during ? `, during ${describeSpec(this.during)}` : ''})`;
}

/** How far past its position a client acks in the last of {@link Ack}'s choices (bytes): a client that lies. */
const ACK_PAST_BYTES = 1000;

/**
 * An attached client of the first user acks a part (0 to 4 quarters) of what it has, or
 * (5) a position past it, which the worker must count as no more than what it sent.
 */
class Ack implements Command {
  constructor(
    readonly pick: number,
    readonly quarters: number,
  ) {}
  check = (model: Readonly<StreamModel>): boolean => attachedClients(model).length > 0;
  async run(model: StreamModel, system: StreamSystem): Promise<void> {
    const clients = attachedClients(model);
    const index = clients[this.pick % clients.length]!;
    const viewer = system.viewers[index]!;
    const from = viewer.start ?? 0;
    const seq =
      this.quarters > 4 ? viewer.seq + ACK_PAST_BYTES : from + Math.floor(((viewer.seq - from) * this.quarters) / 4);
    system.log.push(`ack(${viewer.label}, ${seq} of ${viewer.seq})`);
    await viewer.ack(seq);
    model.viewers[index]!.flowControl = true;
    await settle(model, system);
  }
  toString = (): string => `ack(client #${this.pick}, ${this.quarters > 4 ? 'past its end' : `${this.quarters}/4`})`;
}

/** An attached client of the first user closes its connection (its view stays, as a tab gone offline). */
class Detach implements Command {
  constructor(readonly pick: number) {}
  check = (model: Readonly<StreamModel>): boolean => attachedClients(model).length > 0;
  async run(model: StreamModel, system: StreamSystem): Promise<void> {
    const clients = attachedClients(model);
    const index = clients[this.pick % clients.length]!;
    system.log.push(`detach(${system.viewers[index]!.label} at ${system.viewers[index]!.seq})`);
    system.viewers[index]!.detach();
    model.viewers[index]!.attached = false;
    await settle(model, system);
  }
  toString = (): string => `detach(client #${this.pick})`;
}

/**
 * A gateway is lost — its connections cut under it, or drained and replaced — and every
 * client that was attached through it (either user's) connects through the other and
 * attaches from its own position. With `during`, the shell prints an output just before.
 */
class LoseGateway implements Command {
  constructor(
    readonly gateway: number,
    readonly loss: Loss,
    readonly during?: OutputSpec,
  ) {}
  check = (): boolean => true;
  async run(model: StreamModel, system: StreamSystem): Promise<void> {
    const lost = model.viewers.flatMap((viewer, i) => (viewer.attached && viewer.gateway === this.gateway ? [i] : []));
    const during = this.during ? await print(model, system, 0, this.during) : undefined;
    if (this.loss === 'cut') system.cluster.cut(this.gateway);
    else await system.cluster.replace(this.gateway);
    const typists = system.typists.filter((typist) => typist?.gateway === this.gateway);
    const gone = () => lost.every((i) => !system.viewers[i]!.connected) && typists.every((t) => !t!.socket.connected);
    await waitFor(gone, {
      message: `the clients of gateway ${this.gateway} to lose their connections`,
    });
    for (const i of lost) {
      system.viewers[i]!.drop();
      model.viewers[i]!.attached = false;
    }
    // They all come back at once, as the tabs of a crashed gateway do.
    const other = (this.gateway + 1) % GATEWAYS;
    const steps = await Promise.all(
      lost.map((i) => comeBack(model, system, i, { gateway: other, racing: during !== undefined })),
    );
    system.log.push(
      `lose gateway ${this.gateway} (${this.loss}${during ? `, racing output ${during}` : ''}): ${steps.join('; ') || 'no client on it'}`,
    );
    await settle(model, system);
  }
  toString = (): string =>
    `lose-gateway(${this.gateway}, ${this.loss}${this.during ? `, during ${describeSpec(this.during)}` : ''})`;
}

/** The second user tries the first user's session: an attach from `since` and a keystroke, both `NOT_FOUND`. */
class Intrude implements Command {
  constructor(readonly since: number) {}
  check = (): boolean => true;
  async run(model: StreamModel, system: StreamSystem): Promise<void> {
    system.log.push(`intrude(bob on alice's session, since ${this.since})`);
    const socket = system.viewers[1]!.connection.timeout(REQUEST_TIMEOUT_MS);
    const session_id = system.sessions[0]!;
    const attach = await socket.emitWithAck('terminal:attach', { session_id, since: this.since });
    const input = await socket.emitWithAck('terminal:input', { session_id, data: 'o 999 1 0 0\r' });
    for (const [what, answer] of [
      ['attach', attach],
      ['input', input],
    ] as const) {
      if (answer.success || answer.code !== 'NOT_FOUND') {
        throw new Error(`bob's ${what} to alice's session answered ${JSON.stringify(answer).slice(0, 200)}`);
      }
    }
    await settle(model, system);
  }
  toString = (): string => `intrude(since ${this.since})`;
}

/** Every command, with the arbitraries of its parameters. */
export function commandArbitraries(): Array<fc.Arbitrary<Command>> {
  const user = fc.integer({ min: 0, max: 1 });
  const pick = fc.nat({ max: MAX_VIEWERS });
  const gateway = fc.integer({ min: 0, max: GATEWAYS - 1 });
  const spec: fc.Arbitrary<OutputSpec> = fc.record({
    // Mostly a few lines; now and then up to 11 KiB, which pushes out the 2 KiB buffer at once.
    lines: fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 0, max: 4 }) }, fc.integer({ min: 5, max: 40 })),
    pattern: fc.nat({ max: PATTERNS.length - 1 }),
    tail: fc.boolean(),
  });
  const since = fc.constantFrom<SinceKind>('own', 'own', 'older', 'zero', 'future', 'absent');
  // Older by a few bytes (often inside a character) up to past the buffer.
  const offset = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 12_000 }));
  const during = fc.option(
    fc.tuple(spec, fc.boolean()).map(([s, paced]) => ({ ...s, paced })),
    { nil: undefined, freq: 3 },
  );
  const output = fc.tuple(user, spec).map(([u, s]) => new Output(u, s));
  const attach = fc
    .tuple(pick, gateway, since, offset, fc.constantFrom(true, false, undefined), during)
    .map(([p, g, s, o, f, d]) => new Attach(p, g, s, o, f, d));
  // fast-check picks each entry alike: the ones listed more often come more often.
  return [
    output,
    output,
    output,
    attach,
    attach,
    attach,
    fc.tuple(pick, fc.integer({ min: 0, max: 5 })).map(([p, q]) => new Ack(p, q)),
    fc.tuple(pick, fc.integer({ min: 0, max: 5 })).map(([p, q]) => new Ack(p, q)),
    pick.map((p) => new Detach(p)),
    fc.tuple(gateway, fc.constantFrom<Loss>('cut', 'replaced'), during).map(([g, l, d]) => new LoseGateway(g, l, d)),
    fc.nat({ max: 20_000 }).map((s) => new Intrude(s)),
  ];
}
