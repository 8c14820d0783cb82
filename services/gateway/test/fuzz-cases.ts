import { inspect } from 'node:util';
import { CLIENT_EVENT_SCHEMAS } from '@ctos/protocol';
import fc from 'fast-check';
import { junk, unknownEventNames, withKey } from './fuzz-junk';
import { CHANGES_STATE, expectedOutcome, type Knowledge, type Outcome } from './fuzz-oracle';
import { invalidOf, validOf, type FieldHints } from './fuzz-schema-arbitraries';
import type { Schema } from './fuzz-schema-bounds';
import { overTheWire } from './fuzz-wire';

/** One event the fuzz sends, twice: with an ack callback and without. */
export interface FuzzCase {
  event: string;
  /** The arguments before the ack callback: a payload, none at all, or one too many. */
  args: unknown[];
  /** What the ack must answer. */
  expected: Outcome;
}

/** Cases whose largest frame is above this are left out: the gateway closes a connection sending more (by design). */
export const MAX_CASE_FRAME_BYTES = 4 * 1024 * 1024;

/** The ids the test created, by the field names that carry them. */
function hintsFrom({ own, other }: Knowledge): FieldHints {
  const latest = Math.max(0, ...own.messageIds);
  const messageIds = [...own.messageIds, ...other.messageIds, latest + 1, Number.MAX_SAFE_INTEGER];
  return {
    session_id: [...own.sessions, ...other.sessions],
    conversation_id: [...own.conversations, ...other.conversations],
    message_id: [...messageIds, ...own.replies, ...other.replies],
    up_to: messageIds,
    before: messageIds,
    since: [0, 1, latest, -1],
  };
}

/** Payloads for one schema: valid-looking ones, near-misses, junk, and no payload at all. */
function argsFor(schema: Schema, hints: FieldHints): fc.Arbitrary<unknown[]> {
  const invalid = invalidOf(schema, hints);
  return fc.oneof(
    { weight: 3, arbitrary: validOf(schema, hints).map((payload) => [payload]) },
    ...(invalid ? [{ weight: 7, arbitrary: invalid.map((payload) => [payload]) }] : []),
    { weight: 2, arbitrary: junk.map((payload) => [payload]) },
    { weight: 1, arbitrary: fc.constant<unknown[]>([]) },
    // An argument too many: the payload is the first, whatever follows.
    { weight: 1, arbitrary: fc.tuple(invalid ?? junk, junk).map((args) => [...args]) },
  );
}

/**
 * Cases derived from the protocol's schemas — every client event the protocol defines,
 * and unknown event names — each with the answer the README documents for it. Valid
 * payloads that would change the user's own state are left out, and so are packets
 * Socket.IO itself refuses.
 */
export function caseArbitrary(knowledge: Knowledge): fc.Arbitrary<FuzzCase> {
  const hints = hintsFrom(knowledge);
  const events = Object.keys(CLIENT_EVENT_SCHEMAS);
  const known = events.map((event) =>
    argsFor(CLIENT_EVENT_SCHEMAS[event as keyof typeof CLIENT_EVENT_SCHEMAS] as Schema, hints).map((args) => ({
      event,
      args,
    })),
  );
  const unknown = fc.tuple(
    unknownEventNames(events),
    fc.oneof(
      junk.map((payload) => [payload]),
      fc.constant<unknown[]>([]),
    ),
  );
  return fc
    .oneof(
      { weight: 12, arbitrary: fc.oneof(...known) },
      { weight: 1, arbitrary: unknown.map(([event, args]) => ({ event, args })) },
    )
    .map(({ event, args }) => toCase(event, args, knowledge))
    .filter((c): c is FuzzCase => c !== undefined);
}

function toCase(event: string, args: unknown[], knowledge: Knowledge): FuzzCase | undefined {
  const wire = overTheWire(event, args);
  if (!wire || wire.largestFrame > MAX_CASE_FRAME_BYTES) return undefined;
  // Judged on what the gateway receives (after Socket.IO's encoding), not on what was sent.
  const expected = expectedOutcome(event, wire.args[0], knowledge);
  return expected === CHANGES_STATE ? undefined : { event, args, expected };
}

/** Names that a server's own objects answer to: an event by one of them must be refused like any unknown name. */
const CLASSIC_UNKNOWN_EVENTS = ['error', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'then', ''];

/**
 * The batch fast-check runs first, whatever the seed: every event with no payload, null,
 * an array, a string, binary and a polluting object, and the names that trip an
 * EventEmitter or a plain-object lookup, each with and without a payload.
 */
export function classicCases(knowledge: Knowledge): FuzzCase[] {
  const polluting = withKey({}, '__proto__', { polluted: 'yes' });
  const payloads: unknown[][] = [[], [null], [[]], ['x'], [Buffer.from('{}')], [polluting]];
  const events = [...Object.keys(CLIENT_EVENT_SCHEMAS), ...CLASSIC_UNKNOWN_EVENTS];
  return events
    .flatMap((event) => payloads.map((args) => toCase(event, args, knowledge)))
    .filter((c): c is FuzzCase => c !== undefined);
}

/** A case in one line, long strings and deep values cut, for failure messages. */
export function describeCase(c: FuzzCase): string {
  const payload = c.args.length === 0 ? '(no payload)' : preview(c.args[0]);
  const expected = c.expected.success ? 'success' : c.expected.code;
  return `${preview(c.event)} ${payload} → expected ${expected}`;
}

/** A value in one line, long strings and deep values cut. */
export function preview(value: unknown): string {
  return inspect(value, { depth: 3, maxStringLength: 80, maxArrayLength: 8, breakLength: Infinity }).slice(0, 400);
}
