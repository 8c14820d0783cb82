import { isDeepStrictEqual } from 'node:util';
import { errorEventFor, isErrorCode } from '@ctos/protocol';
import { type ClientSocket, waitFor } from '@ctos/testkit';
import { describeCase, preview, type FuzzCase } from './fuzz-cases';
import { isKnownEvent, type Knowledge } from './fuzz-oracle';
import { readState, type UserState } from './fuzz-state';

/** An event a socket heard. */
export interface Heard {
  event: string;
  args: unknown[];
}

/** The sockets of a fuzz, what each has heard, and the state before it. */
export interface FuzzHarness {
  /** The fuzzing user's socket that sends every case. */
  fuzzer: ClientSocket;
  /** Another socket of the same user: hears whatever is sent to the user's room. */
  tab: ClientSocket;
  /** A socket of another user. */
  bystander: ClientSocket;
  heard: { fuzzer: Heard[]; tab: Heard[]; bystander: Heard[] };
  before: { own: UserState; other: UserState };
  knowledge: Knowledge;
}

/** Records every event `socket` hears. */
export function record(socket: ClientSocket): Heard[] {
  const heard: Heard[] = [];
  socket.onAny((event: string, ...args: unknown[]) => heard.push({ event, args }));
  return heard;
}

/**
 * An answer that is not there after this long is a failure of the case (the server must
 * answer every acknowledged event); far above any answer's time, it only bounds a hang.
 */
const ACK_WAIT_MS = 20_000;

/** Text in an error that came from an exception, not from a person's sentence. */
const INTERNAL_TEXT = /\n\s+at |(Type|Reference|Range|Syntax)Error|Cannot read propert|is not a function|ECONN|ERR_/;
/** An error sentence longer than this is not a sentence. */
const MAX_ERROR_TEXT = 1000;

/** The socket as the fuzz drives it: any event name, any arguments. */
interface LooseSocket {
  emit(event: string, ...args: unknown[]): void;
  timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<unknown> };
}

/** A problem with a failed answer's shape or text, if any. */
function refusalProblem(answer: Record<string, unknown>): string | undefined {
  const keys = Object.keys(answer).sort().join(',');
  if (keys !== 'code,error,success') return `carries fields ${keys}`;
  const error = answer.error;
  if (typeof error !== 'string' || error.length === 0) return 'has no error text';
  if (error.length > MAX_ERROR_TEXT) return `has an error text of ${error.length} characters`;
  // What the sentence quotes is the client's own input (an event name, a key): not ours to judge.
  if (INTERNAL_TEXT.test(error.replace(/"(?:[^"\\]|\\.)*"?/g, '""'))) return `leaks internal text: ${preview(error)}`;
  return undefined;
}

/** What is wrong with the acknowledgement of `c`, if anything. */
function ackProblem(c: FuzzCase, answer: unknown, before: UserState): string | undefined {
  if (answer === null || typeof answer !== 'object') return `answered ${preview(answer)}`;
  const got = answer as Record<string, unknown>;
  if (!c.expected.success) {
    if (got.success !== false || got.code !== c.expected.code) return `answered ${preview(answer)}`;
    return refusalProblem(got);
  }
  if (got.success !== true) return `answered ${preview(answer)}`;
  // The reads that take no filter must answer exactly the user's own state.
  if (c.event === 'terminal:list' && !isDeepStrictEqual(got.sessions, before.terminals)) {
    return `listed ${preview(got.sessions)}`;
  }
  if (c.event === 'ai:conversations' && !isDeepStrictEqual(got.conversations, before.conversations)) {
    return `listed ${preview(got.conversations)}`;
  }
  return undefined;
}

/** What is wrong with an error event the fuzzer heard, if anything. */
function errorEventProblem({ event, args }: Heard): string | undefined {
  const payload = args[0] as Record<string, unknown> | undefined;
  if (args.length !== 1 || !payload || !isErrorCode(payload.code) || typeof payload.error !== 'string') {
    return `${event} ${preview(args)}`;
  }
  if (event === 'ai:error' && typeof payload.retryable !== 'boolean') return `${event} without retryable`;
  const problem = refusalProblem({ success: false, code: payload.code, error: payload.error });
  return problem ? `${event} ${problem}` : undefined;
}

/** `event code` of each error event the cases sent without an ack must cause, sorted. */
function expectedErrorEvents(cases: FuzzCase[]): string[] {
  return cases
    .flatMap((c) =>
      isKnownEvent(c.event) && !c.expected.success ? [`${errorEventFor(c.event)} ${c.expected.code}`] : [],
    )
    .sort();
}

/** Each part of a user's state that differs from before, as it is now. */
function stateChanges(whose: string, before: UserState, now: UserState | number): string[] {
  if (typeof now === 'number') return []; // it could not be read: reported already
  return (Object.keys(before) as Array<keyof UserState>)
    .filter((part) => !isDeepStrictEqual(before[part], now[part]))
    .map((part) => `${whose} ${part} changed: ${preview(now[part])}`);
}

/** What `expected` has that `heard` lacks, and the reverse, counting repeats. */
function multisetDiff(expected: string[], heard: string[]): { missing: string[]; extra: string[] } {
  const extra = [...heard];
  const missing: string[] = [];
  for (const item of expected) {
    const at = extra.indexOf(item);
    if (at === -1) missing.push(item);
    else extra.splice(at, 1);
  }
  return { missing, extra };
}

/** Sends every case with an ack and without, in the same order; resolves with each ack's problem (undefined: fine). */
async function send(h: FuzzHarness, cases: FuzzCase[]): Promise<Array<string | undefined>> {
  const socket = h.fuzzer as unknown as LooseSocket;
  const answers = cases.map((c) => {
    const answer = socket.timeout(ACK_WAIT_MS).emitWithAck(c.event, ...c.args);
    socket.emit(c.event, ...c.args);
    return answer;
  });
  const settled = await Promise.allSettled(answers);
  return settled.map((result, i) =>
    result.status === 'rejected'
      ? `got no answer (${String(result.reason)})`
      : ackProblem(cases[i]!, result.value, h.before.own),
  );
}

/**
 * One batch: each case sent with an ack (the answer must be the documented one, never
 * `INTERNAL`) and without (exactly the documented `*:error` events, nothing else); then
 * the connection still answers, both users' whole state is as before, the user's other
 * tab and the other user heard nothing, and no prototype changed.
 * @throws Error naming every problem and the batch's cases.
 */
export async function runBatch(h: FuzzHarness, cases: FuzzCase[], prototypes: () => unknown): Promise<void> {
  const prototypesBefore = prototypes();
  const problems: string[] = [];
  (await send(h, cases)).forEach((problem, i) => {
    if (problem) problems.push(`${describeCase(cases[i]!)}: ${problem}`);
  });
  const expectedErrors = expectedErrorEvents(cases);
  await waitFor(() => h.heard.fuzzer.length >= expectedErrors.length, {
    message: `${expectedErrors.length} error events for the events sent without an ack (heard ${h.heard.fuzzer.length})`,
  }).catch((error: Error) => problems.push(error.message));
  // Reading the state is also the proof that the connection still answers correctly.
  const own = await readState(h.fuzzer).catch((error: Error) => problems.push(`fuzzer's state: ${error.message}`));
  const other = await readState(h.bystander).catch((error: Error) =>
    problems.push(`bystander's state: ${error.message}`),
  );
  problems.push(...stateChanges("the fuzzing user's", h.before.own, own));
  problems.push(...stateChanges("the other user's", h.before.other, other));
  const heard = h.heard.fuzzer.splice(0);
  for (const event of heard) {
    const problem = errorEventProblem(event);
    if (problem) problems.push(`unexpected event: ${problem}`);
  }
  const heardErrors = heard.map(({ event, args }) => `${event} ${(args[0] as { code?: unknown } | undefined)?.code}`);
  const { missing, extra } = multisetDiff(expectedErrors, heardErrors);
  if (missing.length > 0 || extra.length > 0) {
    const unexpected = heard.filter((_, i) => extra.includes(heardErrors[i]!));
    problems.push(`events sent without an ack: missing ${preview(missing)}; unexpected ${preview(unexpected)}`);
  }
  for (const [who, events] of [
    ['tab', h.heard.tab.splice(0)],
    ['bystander', h.heard.bystander.splice(0)],
  ] as const) {
    if (events.length > 0) problems.push(`the ${who} heard ${preview(events)}`);
  }
  if (!h.fuzzer.connected) problems.push('the fuzzing socket was disconnected');
  if (!isDeepStrictEqual(prototypes(), prototypesBefore)) problems.push('a built-in prototype changed');
  if (problems.length > 0) {
    throw new Error(`${problems.join('\n')}\n\nthe batch:\n${cases.map(describeCase).join('\n')}`);
  }
}
