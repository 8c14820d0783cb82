import type { AiResumeResult } from '@ctos/protocol';
import { waitFor, type ClientSocket } from '@ctos/testkit';
import type { Bus, InboxHandler, RoomEmitter, Transport } from '@ctos/transport';
import { BUILDS, Listener, newConversation, send, startCluster, type TestCluster } from './harness';

/**
 * A reply's room events are held by socket (the `holder` of `message`, `resume` and
 * `release` on the bus): a release that comes after its socket's hold lapsed ends
 * nothing, and never the hold of another socket that resumed meanwhile.
 */

/** A hold lapses after 5 s (the relay's hold timeout): the test waits that long once. */
const LAPSE_WAIT_MS = 15_000;

/**
 * Wraps an ai-worker's transport: logs, in {@link log}, each chunk it emits (`chunk`),
 * each resume it has answered (`resumed`) and each release it handles (`release <label>`),
 * and keeps releases back at gates the test opens.
 */
class ReleaseGates {
  readonly log: string[] = [];
  /** Gates armed and not yet given a release, in the order armed. */
  private readonly armed: string[] = [];
  private readonly gates = new Map<string, { opened: Promise<void>; open: () => void }>();

  /** The next release the worker is sent waits until {@link open} with `label`. */
  holdNextRelease(label: string): void {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    this.gates.set(label, { opened, open });
    this.armed.push(label);
  }

  open(label: string): void {
    this.gates.get(label)?.open();
  }

  readonly wrap = (transport: Transport): Transport => {
    const handler =
      (inner: InboxHandler): InboxHandler =>
      (body, kind) => {
        const op = (body as { op?: unknown }).op;
        if (op === 'release') {
          const label = this.armed.shift() ?? 'ungated';
          void (this.gates.get(label)?.opened ?? Promise.resolve()).then(() => {
            this.log.push(`release ${label}`);
            inner(body, kind);
          });
          return undefined;
        }
        const answer = inner(body, kind);
        if (op !== 'resume') return answer;
        return Promise.resolve(answer).then((value) => {
          this.log.push('resumed');
          return value;
        });
      };
    const bus = new Proxy(transport.bus, {
      get: (target, name) =>
        name === 'serve' ? (inner: InboxHandler) => target.serve(handler(inner)) : bound(target, name as keyof Bus),
    });
    const emitter: RoomEmitter = {
      emit: (room, event, payload) => {
        if (event === 'ai:stream:chunk') this.log.push('chunk');
        return transport.emitter.emit(room, event, payload);
      },
    };
    return new Proxy(transport, {
      get: (target, name) =>
        name === 'bus' ? bus : name === 'emitter' ? emitter : bound(target, name as keyof Transport),
    });
  };
}

function bound<T extends object>(target: T, name: keyof T): unknown {
  const value = target[name];
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

/** `ai:resume` from the start of the reply. */
async function resume(socket: ClientSocket, conversationId: string, messageId: string): Promise<AiResumeResult> {
  const answer = await socket.emitWithAck('ai:resume', { conversation_id: conversationId, message_id: messageId });
  if (!answer.success) throw new Error(`ai:resume refused: ${answer.code} ${answer.error}`);
  return answer;
}

describe.each(BUILDS)('holding a reply by socket (%s)', (build) => {
  let cluster: TestCluster;
  let gates: ReleaseGates;

  beforeEach(async () => {
    gates = new ReleaseGates();
    cluster = await startCluster(build, { workerTransport: gates.wrap });
  });
  afterEach(() => cluster.stop());

  it("ends no other socket's hold with a release that comes after its own hold lapsed", async () => {
    // Long enough to stream through a lapse; a delta every few ms, so held text is always waiting.
    cluster.standin.setScript(() => ({ text: 'word '.repeat(4000), chunks: 4000, deltaIntervalMs: 5 }));
    const sender = await cluster.connect('alice');
    const heard = new Listener(sender);
    const conversation = newConversation();
    const messageId = await send(sender, conversation, 'Count');
    await heard.waitForChunks(messageId, 3);

    // Tab B resumes; its release is kept back until its hold has lapsed (as if its gateway hung).
    const tabB = await cluster.connect('alice');
    gates.holdNextRelease('B');
    expect(await resume(tabB, conversation, messageId)).toMatchObject({ status: 'streaming' });
    const resumedB = gates.log.lastIndexOf('resumed');
    await waitFor(() => gates.log.indexOf('chunk', resumedB) > resumedB, {
      timeoutMs: LAPSE_WAIT_MS,
      message: "tab B's hold to lapse and the reply to flow again",
    });

    // Tab C resumes and is held; B's late release arrives before C's own.
    const tabC = await cluster.connect('alice');
    gates.holdNextRelease('C');
    expect(await resume(tabC, conversation, messageId)).toMatchObject({ status: 'streaming' });
    gates.open('B');
    await waitFor(() => gates.log.includes('release B'), { message: "tab B's late release to be handled" });
    gates.open('C');
    await waitFor(() => gates.log.includes('release C'), { message: "tab C's release to be handled" });

    const releaseB = gates.log.indexOf('release B');
    const releaseC = gates.log.indexOf('release C');
    expect(gates.log.slice(releaseB, releaseC)).toEqual(['release B']);
    await waitFor(() => gates.log.indexOf('chunk', releaseC) > releaseC, { message: "C's release to let it flow" });
  });
});
