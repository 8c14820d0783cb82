import type { ScriptReply, StoreCommands, StoreScript } from '@ctos/transport';

/** Keys of {@link MARK_SCRIPT}: the user's id counter, messages, unread ids and read-state version. */
export type MarkKeys = [seq: string, messages: string, unread: string, version: string];

/**
 * Arguments of {@link MARK_SCRIPT}: what to mark (`message_id` or `up_to`, and the id),
 * the channel and the message's head and tail for the user's room (as `RoomWire` makes
 * them), then the `message:unread_count` event as JSON cut where the script puts the
 * count and the version: `countHead` + count + `countMiddle` + version + `countEnd`.
 */
export type MarkArgs = [
  kind: 'message_id' | 'up_to',
  id: number,
  channel: string,
  head: string,
  tail: string,
  countHead: string,
  countMiddle: string,
  countEnd: string,
];

/** What {@link MARK_SCRIPT} replies: marked, with the unread count and version after; or nothing to mark. */
export type MarkReply = ['marked', count: number, version: number] | ['not_found', 0, 0];

/** The Redis implementation of {@link MARK_SCRIPT}. */
const LUA = `
local seq, messages, unread, version = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local kind, id = ARGV[1], tonumber(ARGV[2])
if kind == 'message_id' then
  if redis.call('ZCOUNT', messages, id, id) == 0 then return {'not_found', 0, 0} end
  redis.call('ZREM', unread, ARGV[2])
else
  if id > tonumber(redis.call('GET', seq) or '0') then return {'not_found', 0, 0} end
  redis.call('ZREMRANGEBYSCORE', unread, '-inf', id)
end
local count = redis.call('ZCARD', unread)
local raised = redis.call('INCR', version)
redis.call('SPUBLISH', ARGV[3], ARGV[4] .. ARGV[6] .. count .. ARGV[7] .. raised .. ARGV[8] .. ARGV[5])
return {'marked', count, raised}
`;

/** The memory implementation of {@link MARK_SCRIPT}. */
function run(store: StoreCommands, keys: readonly string[], args: readonly string[]): ScriptReply {
  const [seq = '', messages = '', unread = '', version = ''] = keys;
  const [kind, idArg = '', channel = '', head, tail, countHead, countMiddle, countEnd] = args;
  const id = Number(idArg);
  if (kind === 'message_id') {
    if (store.zcount(messages, id, id) === 0) return ['not_found', 0, 0];
    store.zrem(unread, idArg);
  } else {
    if (id > Number(store.get(seq) ?? 0)) return ['not_found', 0, 0];
    store.zremrangebyscore(unread, -Infinity, id);
  }
  const count = store.zcard(unread);
  const raised = store.incr(version);
  store.publish(channel, `${head}${countHead}${count}${countMiddle}${raised}${countEnd}${tail}`);
  return ['marked', count, raised];
}

/**
 * Marks read for one user, in one step that no new message or other mark can fall into
 * the middle of: one message (if it is kept) or every id up to one (if it was given),
 * then the unread count read and the read-state version raised, and the
 * `message:unread_count` event with both (and what was read) published to the user's
 * room. So every tab hears marks and new messages in the order they happened. Marking
 * what is already read changes nothing but the version. Keys: {@link MarkKeys};
 * arguments: {@link MarkArgs}; reply: {@link MarkReply}.
 */
export const MARK_SCRIPT: StoreScript = { name: 'message-mark', lua: LUA, run };

/** The reply of {@link MARK_SCRIPT}, typed. @throws Error for a reply it does not give (a bug). */
export function markReply(reply: ScriptReply): MarkReply {
  const [kind, count, version] = reply;
  if ((kind === 'marked' || kind === 'not_found') && typeof count === 'number' && typeof version === 'number') {
    return reply as MarkReply;
  }
  throw new Error(`message-mark replied ${JSON.stringify(reply)}`);
}
