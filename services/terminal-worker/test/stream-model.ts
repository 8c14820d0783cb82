import type { ClientSocket } from '@ctos/testkit';
import type fc from 'fast-check';
import type { StreamCluster } from './stream-model-cluster';
import type { Viewer } from './stream-model-viewer';

/**
 * How long a request may wait for its answer (ms): above the gateway's bus timeout (5 s),
 * so a request no one answers fails the run with its counterexample, not jest's timeout.
 */
export const REQUEST_TIMEOUT_MS = 8000;
/** Gateways of the cluster; commands lose one and re-attach through the other. */
export const GATEWAYS = 2;
/** Clients of the first user at most (the creator included): enough for fan-out and racing attaches. */
export const MAX_VIEWERS = 4;

/**
 * The worker's settings here, as strings for its configuration. A replay buffer of 2 KiB
 * (the real one is 1 MiB) while one output of the model's prints up to 11 KiB, so an
 * output or two push a position out of the buffer and an attach from it gets a snapshot.
 * A high watermark of 2 KiB: a client that attached with flow control and stays silent
 * pauses the PTY within an output. The stall limit beyond any run, so only an ack or a
 * detach resumes a paused PTY, as the model says. `sh` is dash: no readline, so with the
 * tty's echo off nothing but what the commands print reaches the stream.
 */
export const WORKER_ENV = {
  TERMINAL_REPLAY_BYTES: '2048',
  TERMINAL_FLOW_HIGH_BYTES: '2048',
  TERMINAL_FLOW_LOW_BYTES: '512',
  TERMINAL_FLOW_STALL_MS: '600000',
  TERMINAL_SHELL: '/bin/sh',
  TERMINAL_SHELL_ARGS: '',
};

/**
 * What the shell's lines are made of: ASCII, then two-, three- and four-byte UTF-8
 * characters, short to longer than a line (80 columns). No quote, `$`, backquote or
 * backslash: they are typed inside the shell's quotes.
 */
export const PATTERNS = [
  'x',
  'é語😀 ü—',
  'The quick brown fox jumps over the lazy dog; 語 😀 é, numbered and known',
  `a line wider than the screen wraps: ${'語😀é-'.repeat(24)}`,
];

/** Printed by the setup once its line ran: typed as `READY\072`, so its echo does not match. */
export const READY = 'READY:\r\n';

/** The pause after each line of a paced output (seconds): output trickles while a racing attach or loss happens. */
const PACE_S = '0.002';

/**
 * The line typed first into each session's `sh` (dash): no echo and no prompt from then
 * on, so every byte the shell writes afterwards is known from the commands; the patterns;
 * and `o N L P T S`, which prints L lines `N.i <pattern P>` (with a pause after each when
 * S is 1) and, when T is 1, `N!` with no line break.
 */
export function setupLine(): string {
  const patterns = PATTERNS.map((pattern, i) => `p${i}='${pattern}'`).join('; ');
  const pick = PATTERNS.map((_, i) => `${i}) s=$p${i};;`).join(' ');
  const print = `o() { case $3 in ${pick} esac; i=0; while [ $i -lt $2 ]; do printf '%s.%d %s\\n' "$1" $i "$s"; [ "$5" = 1 ] && sleep ${PACE_S}; i=$((i+1)); done; [ "$4" = 1 ] && printf '%s!' "$1"; }`;
  return `stty -echo; PS1=''; ${patterns}; ${print}; printf 'READY\\072\\n'\r`;
}

/** One output: its number, and what `o` is told to print. */
export interface OutputSpec {
  lines: number;
  pattern: number;
  tail: boolean;
  /** A pause after each line (for output that races another command). */
  paced?: boolean;
}

/** The line that makes the shell print output number `n`. */
export function outputCommand(n: number, spec: OutputSpec): string {
  return `o ${n} ${spec.lines} ${spec.pattern} ${spec.tail ? 1 : 0} ${spec.paced ? 1 : 0}\r`;
}

/** The bytes output number `n` puts on the wire: the tty turns each line break into CR LF. */
export function outputBytes(n: number, spec: OutputSpec): Buffer {
  const lines = Array.from({ length: spec.lines }, (_, i) => `${n}.${i} ${PATTERNS[spec.pattern]!}\r\n`);
  return Buffer.from(lines.join('') + (spec.tail ? `${n}!` : ''), 'utf8');
}

/** One user's session in the model: every byte its shell wrote, from position 0. */
export interface UserStream {
  /** The prologue (prompt and echoed setup, as its creator saw them), then exactly what the outputs printed. */
  bytes: Buffer;
  /** Outputs typed so far; each numbers its lines with the next. */
  outputs: number;
}

/** One client in the model. */
export interface ViewerModel {
  user: number;
  attached: boolean;
  /** The gateway slot its connection goes through. */
  gateway: number;
  /** It holds the PTY when behind: it attached with flow control, or has acked. */
  flowControl: boolean;
  /** Where its exact bytes start: its first position, or where its last snapshot left it. */
  from: number;
}

/**
 * The reference model: per user the whole byte stream the shell wrote (known from the
 * commands typed), per client whose it is, whether it is attached, through which
 * gateway, whether it holds the PTY and where its exact view starts. What a client has
 * seen is the model's stream from there to its position; where that position must be
 * is the settle's business (see stream-model-checks.ts).
 */
export interface StreamModel {
  users: UserStream[];
  viewers: ViewerModel[];
}

/** The system under test: the cluster, each user's id and session, their typing sockets, and the clients. */
export interface StreamSystem {
  cluster: StreamCluster;
  users: string[];
  sessions: string[];
  /** Per user, the socket that types the commands (never attached), and its gateway. */
  typists: Array<{ socket: ClientSocket; gateway: number } | undefined>;
  /** The clients, in the model's order. */
  viewers: Viewer[];
  /** Sockets to close when the run ends. */
  sockets: ClientSocket[];
  /** What each command did, with the clients and positions it resolved to: said when the run fails. */
  log: string[];
}

/** A command of the model-based test. */
export type Command = fc.AsyncCommand<StreamModel, StreamSystem>;

/** The label a user index reads as in a counterexample. */
export const who = (user: number): string => (user === 0 ? 'alice' : 'bob');

/** First position at or after `at` where a character starts (a position inside one moves forward, as the replay does). */
export function charStart(bytes: Buffer, at: number): number {
  let position = at;
  // 10xxxxxx: a UTF-8 continuation byte.
  while (position < bytes.length && (bytes[position]! & 0xc0) === 0x80) position++;
  return position;
}

/** The socket a user types through, connected again if its gateway was lost. */
export async function typist(system: StreamSystem, user: number): Promise<ClientSocket> {
  const held = system.typists[user];
  if (held?.socket.connected) return held.socket;
  const gateway = user % GATEWAYS;
  const socket = await system.cluster.connect(system.users[user]!, gateway);
  system.sockets.push(socket);
  system.typists[user] = { socket, gateway };
  return socket;
}

/** Types `data` into `user`'s session and waits until the worker's inbox holds it (so the order of lines is fixed). */
export async function typeInto(system: StreamSystem, user: number, data: string): Promise<void> {
  const socket = await typist(system, user);
  const answer = await socket
    .timeout(REQUEST_TIMEOUT_MS)
    .emitWithAck('terminal:input', { session_id: system.sessions[user]!, data });
  if (!answer.success) throw new Error(`${who(user)}'s input answered ${answer.code}`);
}

/** Has the shell of `user` print one more output, and adds its bytes to the model; does not wait for them. */
export async function print(model: StreamModel, system: StreamSystem, user: number, spec: OutputSpec): Promise<number> {
  const stream = model.users[user]!;
  const n = ++stream.outputs;
  stream.bytes = Buffer.concat([stream.bytes, outputBytes(n, spec)]);
  await typeInto(system, user, outputCommand(n, spec));
  return n;
}
