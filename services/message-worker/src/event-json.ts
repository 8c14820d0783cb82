import type { MessageUnreadCountEvent, ServerEventName } from '@ctos/protocol';

/**
 * Events as JSON, cut where a store script puts the numbers only it knows (an id, a count,
 * a version), so the script joins strings instead of writing JSON: the event names and
 * payload shapes stay the protocol's, written here through its types.
 */

/** How an event's JSON array `[event, payload]` starts, up to its payload. */
export function eventHead(event: ServerEventName): string {
  return `[${JSON.stringify(event)},`;
}

/**
 * The `message:unread_count` event with mark `read` as JSON, cut where the count and the
 * version go: `[head, middle, end]`, so head + count + middle + version + end is
 * `JSON.stringify(['message:unread_count', { count, read, version }])`.
 */
export function countEvent(read: NonNullable<MessageUnreadCountEvent['read']>): [string, string, string] {
  const payload: MessageUnreadCountEvent = { count: 0, read, version: 0 };
  const whole = JSON.stringify(['message:unread_count', payload]);
  const [head, rest] = splitOnce(whole, '{"count":0,');
  const [middle, end] = splitOnce(rest, ',"version":0}');
  return [`${head}{"count":`, `,${middle},"version":`, `}${end}`];
}

/** `text` cut at the first `mark` (which goes). @throws Error when `mark` is not in it (a bug). */
function splitOnce(text: string, mark: string): [string, string] {
  const at = text.indexOf(mark);
  if (at < 0) throw new Error(`${JSON.stringify(mark)} is not in ${JSON.stringify(text)}`);
  return [text.slice(0, at), text.slice(at + mark.length)];
}
