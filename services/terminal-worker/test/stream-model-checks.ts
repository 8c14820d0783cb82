import type { TerminalAttachResult } from '@ctos/protocol';
import { waitFor } from '@ctos/testkit';
import { Terminal } from '@xterm/headless';
import { unackedBound } from './flow-bound';
import { charStart, who, type StreamModel, type StreamSystem } from './stream-model';

/**
 * How long the stream may take to settle after a command (ms): outputs are a few KiB and
 * take milliseconds, so this matters only on a loaded machine; short enough that
 * shrinking a failure (every failing try waits it out) fits the property's budget.
 */
const SETTLE_MS = 5000;
/** Poll period while waiting to settle (ms). */
const SETTLE_POLL_MS = 5;
/** The size every session is created with; snapshots are rendered at it. */
export const COLS = 80;
export const ROWS = 24;

/** Where a user's stream stands once nothing moves. */
type Standing = 'complete' | 'paused' | 'busy' | 'broken';

/** The indices of the model's clients of `user` that are attached. */
function attachedOf(model: StreamModel, user: number): number[] {
  return model.viewers.flatMap((viewer, i) => (viewer.user === user && viewer.attached ? [i] : []));
}

/**
 * Where `user`'s stream stands: `complete` when every attached client has every byte the
 * model says the shell wrote; `paused` when the PTY is paused with nothing read left
 * unsent, every attached client has all that was sent, and only attached clients that
 * hold the PTY (flow control, more than the low watermark behind) keep it so; `busy`
 * while anything is still on its way; `broken` when a client saw something wrong or
 * the worker is past the model, so the checks say what at once.
 */
function standing(model: StreamModel, system: StreamSystem, user: number): Standing {
  const session = system.cluster.session(system.sessions[user]!);
  const end = model.users[user]!.bytes.length;
  if (!session || session.seq > end) return 'broken';
  const attached = attachedOf(model, user).map((i) => system.viewers[i]!);
  if (attached.some((viewer) => viewer.problems().length > 0)) return 'broken';
  if (attached.some((viewer) => viewer.view.attaching || viewer.seq !== session.seq)) return 'busy';
  const report = session.flowReport();
  // The worker's attachments are the model's: a detach that has not landed yet is still on its way.
  const sockets = new Set(attached.map((viewer) => viewer.attachment));
  if (report.attachments.length !== sockets.size || report.attachments.some((a) => !sockets.has(a.socket))) {
    return 'busy';
  }
  if (report.pendingBytes > 0) return 'busy';
  if (session.seq === end) return 'complete';
  // Held only by clients that hold it by their own account: an ack that frees it may still be on its way.
  const holding = new Set(holdersOf(model, system, user, session.seq));
  if (report.holders.some((socket) => !holding.has(socket))) return 'busy';
  return report.paused && report.holders.length > 0 ? 'paused' : 'busy';
}

/**
 * The sockets of `user`'s clients that hold the PTY by the model's account at output
 * position `seq`: attached, flow-controlled, and more than the low watermark past their
 * last ack.
 */
function holdersOf(model: StreamModel, system: StreamSystem, user: number, seq: number): Array<string | undefined> {
  const low = system.cluster.config.TERMINAL_FLOW_LOW_BYTES;
  return attachedOf(model, user)
    .filter((i) => model.viewers[i]!.flowControl && seq - system.viewers[i]!.ackFloor > low)
    .map((i) => system.viewers[i]!.attachment);
}

/** Why client `index`'s view differs from the model, or undefined when it is exact. */
function viewDiff(model: StreamModel, system: StreamSystem, index: number): string | undefined {
  const viewer = system.viewers[index]!;
  const state = model.viewers[index]!;
  const problems = viewer.problems();
  if (problems.length > 0) return problems.join('; ');
  if (viewer.start === undefined) return 'has no stream at all';
  if (viewer.start !== state.from) return `starts at ${viewer.start}, the model says ${state.from}`;
  const want = model.users[state.user]!.bytes.subarray(state.from, viewer.seq);
  const got = viewer.exact();
  if (!got.equals(want)) {
    let at = 0;
    while (at < got.length && got[at] === want[at]) at++;
    const near = (bytes: Buffer) => JSON.stringify(bytes.subarray(at, at + 40).toString('utf8'));
    return `differs from the shell's bytes at ${state.from + at} (of ${state.from}..${viewer.seq}): ${near(got)} but the model has ${near(want)}`;
  }
  return undefined;
}

/**
 * Waits until both users' streams stand still (complete, or paused by a client that
 * holds it), then checks every client, attached or not: its bytes are exactly the
 * model's stream from where it started to its position, with no gap, overlap or
 * repeat; an attached client is at the session's position; and flow control held
 * within its bound: by the worker's own account, and by each client's (what it got
 * beyond its last ack). A paused stream must be held by an attached client the model
 * says holds it.
 * @throws Error naming the user, the client and what differs.
 */
export async function settle(model: StreamModel, system: StreamSystem): Promise<Standing> {
  let last: Standing = 'complete';
  for (const user of [0, 1]) {
    let now: Standing = 'busy';
    await waitFor(() => (now = standing(model, system, user)) !== 'busy', {
      timeoutMs: SETTLE_MS,
      intervalMs: SETTLE_POLL_MS,
    }).catch(() => undefined);
    checkUser(model, system, user, now);
    if (user === 0) last = now;
  }
  return last;
}

/** The checks of {@link settle} for one user, once the wait is over. */
function checkUser(model: StreamModel, system: StreamSystem, user: number, now: Standing): void {
  const session = system.cluster.session(system.sessions[user]!);
  if (!session) throw new Error(`${who(user)}'s session is gone`);
  const name = `${who(user)}'s stream (at ${session.seq} of ${model.users[user]!.bytes.length})`;
  for (const [i, state] of model.viewers.entries()) {
    if (state.user !== user) continue;
    const diff = viewDiff(model, system, i);
    if (diff) throw new Error(`${name}: ${system.viewers[i]!.label} ${diff}`);
  }
  const report = session.flowReport();
  const bound = unackedBound(system.cluster.config);
  if (now === 'busy') {
    const views = attachedOf(model, user).map((i) => `${system.viewers[i]!.label} at ${system.viewers[i]!.seq}`);
    throw new Error(`${name} did not settle: ${views.join(', ')}; flow ${JSON.stringify(report)}`);
  }
  if (report.peakUnackedBytes > bound) throw new Error(`${name}: unacked bytes peaked at ${report.peakUnackedBytes}`);
  for (const i of attachedOf(model, user)) {
    const viewer = system.viewers[i]!;
    if (model.viewers[i]!.flowControl && viewer.seq - viewer.ackFloor > bound) {
      throw new Error(`${name}: ${viewer.label} got ${viewer.seq - viewer.ackFloor} bytes past its ack`);
    }
  }
  if (now === 'paused' && holdersOf(model, system, user, session.seq).length === 0) {
    throw new Error(`${name} is paused, but no client the model knows holds it`);
  }
}

/** The visible screen after writing `data` into a fresh terminal of the sessions' size. */
async function render(data: string): Promise<string[]> {
  const term = new Terminal({ cols: COLS, rows: ROWS, allowProposedApi: true, scrollback: 1000 });
  await new Promise<void>((resolve) => term.write(data, resolve));
  const buffer = term.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < term.rows; y++) lines.push(buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '');
  term.dispose();
  return lines;
}

/**
 * Checks an attach's answer against the model's stream of the session (`bytes`), for
 * an attach from `since` answered while output stood at `level` or later, and returns
 * where the client's exact bytes start. From a position past the end: nothing, and the
 * client goes on from the end. Without a position: the whole stream while the replay
 * buffer (`replayBytes`) holds it from 0, else a snapshot. From a position the buffer
 * cannot hold any more (more than `replayBytes` back): a snapshot. From the end: no
 * snapshot. Between those the buffer's start depends on how output was cut into chunks,
 * so either: a replay must be the stream's bytes from `since` exactly (from the next
 * character when `since` cuts one), and a snapshot must render the same screen as the
 * whole stream up to its position.
 * @throws Error saying how the answer differs.
 */
export async function checkAnswer(
  bytes: Buffer,
  since: number | undefined,
  answer: TerminalAttachResult,
  options: { level: number; replayBytes: number },
): Promise<number> {
  const { seq, snapshot } = answer;
  const said = `attach from ${since} answered ${snapshot ? 'a snapshot' : 'a replay'} to ${seq}`;
  if (seq < options.level || seq > bytes.length) {
    throw new Error(`${said}, but output stood at ${options.level}..${bytes.length}`);
  }
  if (since !== undefined && since > seq) {
    if (snapshot || answer.data !== '') throw new Error(`${said} with ${answer.data.length} characters`);
    return seq;
  }
  const evicted = since === undefined ? seq > options.replayBytes : since < seq - options.replayBytes;
  if (evicted && !snapshot) throw new Error(`${said}: the buffer cannot hold that position any more`);
  if (snapshot && (since === undefined ? !evicted : since === seq)) throw new Error(`${said}: the buffer holds it`);
  if (snapshot) {
    const [whole, restored] = await Promise.all([render(bytes.subarray(0, seq).toString('utf8')), render(answer.data)]);
    const row = whole.findIndex((line, y) => line !== restored[y]);
    if (row >= 0) {
      const [got, want] = [restored[row], whole[row]].map((line) => JSON.stringify(line));
      throw new Error(`${said} whose screen row ${row} is ${got}, where the whole stream shows ${want}`);
    }
    return seq;
  }
  const from = charStart(bytes, since ?? 0);
  const want = bytes.subarray(from, seq);
  if (!Buffer.from(answer.data, 'utf8').equals(want)) {
    throw new Error(
      `${said}: ${JSON.stringify(answer.data.slice(0, 80))}…, the model has ${JSON.stringify(want.toString('utf8').slice(0, 80))}…`,
    );
  }
  return from;
}
