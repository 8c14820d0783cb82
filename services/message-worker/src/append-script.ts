import type { ScriptReply, StoreCommands, StoreScript } from '@ctos/transport';
import type { LedgerEntry } from './idempotency';

/**
 * Oldest messages looked at per round when dropping aged ones, once the oldest one is
 * aged (usually it is not, and one is all a write reads); rounds repeat while all are old.
 */
export const AGE_SCAN_BATCH = 100;

/**
 * Keys of one recipient in {@link APPEND_SCRIPT}, in order: the user's id counter,
 * messages, unread ids and read-state version, then, when the message has a key, the
 * idempotency ledger entry and the user's write lock of a message-worker from before this
 * script (see `MessageStore` and `LedgerEntry` for what each holds).
 */
export type RecipientKeys =
  | [seq: string, messages: string, unread: string, version: string]
  | [seq: string, messages: string, unread: string, version: string, ledger: string, oldLock: string];

/**
 * The arguments of {@link APPEND_SCRIPT}, in order (strings as `ARGV`):
 * - `body`: the message's JSON without its opening brace; stored as `{"id":<id>,` + body,
 *   the message with its id first.
 * - `eventHead`, `pushRest`: its `message:new` event, `[event, payload]` as JSON, is
 *   `eventHead` (`["message:new",`) + `{"id":<id>,` + `pushRest` (the rest of the
 *   payload, with `read: false`, and the closing bracket).
 * - `maxCount`, `maxAgeMs`, `keepMs`, `cutoff`: retention; the keys are kept `keepMs`
 *   (the age limit and a slack, see `EXPIRY_SLACK_MS`), renewed once less than `maxAgeMs`
 *   is left; `cutoff` is the ISO 8601 time before which a message is aged (ISO 8601 times
 *   of one format order as strings do).
 * - `digest`, `writer`, `ledgerMs`, `doneHead`: a keyed message's fingerprint, its
 *   request's token in the ledger, how long ledger entries are kept, and its done entry
 *   as JSON up to the id (`doneHead` + id + `}`; empty strings and 0 without a key).
 * - `takeover`: one character per recipient, `1` once that write has waited long enough
 *   to take over another request's claim whose message is not stored, else `0`.
 * - `ageCheck`: one character per recipient, `1` to look for aged messages, `0` when the
 *   caller knows the oldest kept message is not aged.
 * - `width`: keys per recipient, 4, or 6 with a ledger entry and the old lock.
 * - the wire of the rooms (`RoomWire`): the channel's two parts, the head's two parts, the tail.
 * - then for each recipient, the user's room, and the room as JSON.
 */
export type AppendArgs = [
  body: string,
  eventHead: string,
  pushRest: string,
  maxCount: number,
  maxAgeMs: number,
  keepMs: number,
  cutoff: string,
  digest: string,
  writer: string,
  ledgerMs: number,
  doneHead: string,
  takeover: string,
  ageCheck: string,
  width: 4 | 6,
  channelBefore: string,
  channelAfter: string,
  headBefore: string,
  headAfter: string,
  tail: string,
  ...rooms: string[],
];

/** Arguments of {@link AppendArgs} before the recipients' rooms. */
const FIXED_ARGS = 19;

/**
 * What {@link APPEND_SCRIPT} did for one recipient; it replies with one such record of
 * {@link RECORD_WIDTH} items per recipient, in order:
 * - `written`: the message got `id`, is stored unread, and its `message:new` was
 *   published to the user's room; `count` and `version` are the user's unread count and
 *   read-state version right after (a consistent pair). With a key, the key is done.
 *   When it looked for aged messages, `oldest` is the created time of the oldest kept.
 * - `done`: the key was done already: `id` is the message, created and delivered before.
 * - `redelivered`: the key's message `id` had been stored by a request that stopped
 *   before marking the key done (a message-worker from before this script); now done,
 *   and its `message:new` published again (clients drop what they hold); `count` and
 *   `version` as they are.
 * - `pending`: another request (a message-worker from before this script) claimed the
 *   key and may still store its message: the user's old lock is held, or the claim's
 *   message is not stored and `takeover` was not given; nothing was written.
 * - `conflict`: the key was used for a different message; nothing was written.
 * Items a kind does not use are 0 or ''.
 */
export type AppendRecord = [
  kind: 'written' | 'done' | 'redelivered' | 'pending' | 'conflict',
  id: number,
  count: number,
  version: number,
  oldest: string,
];

/** Items per recipient in {@link APPEND_SCRIPT}'s reply. */
export const RECORD_WIDTH = 5;

/** The created time of a stored message: its last field, as this script and `MessageStore` write it. */
const CREATED_AT = /"created_at":"([^"]*)"}$/;

/**
 * How much of a stored message's end the created time is looked for in: its field and an
 * ISO 8601 time (40 characters) with room to spare, so the look costs the same for any message.
 */
const CREATED_TAIL = 48;

/** The Redis implementation of {@link APPEND_SCRIPT}. */
const LUA = `
local body, eventHead, pushRest = ARGV[1], ARGV[2], ARGV[3]
local maxCount, maxAgeMs, keepMs, cutoff = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7]
local digest, writer, ledgerMs, doneHead = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local takeovers, ageChecks, width = ARGV[12], ARGV[13], tonumber(ARGV[14])
local channelBefore, channelAfter, headBefore, headAfter, tail = ARGV[15], ARGV[16], ARGV[17], ARGV[18], ARGV[19]

local function append(seq, messages, unread, version, ledger, oldLock, takeover, checkAge, room, roomJson)
  local channel = channelBefore .. room .. channelAfter
  local stored = false
  if ledger then
    local raw = redis.call('GET', ledger)
    if raw then
      local entry = cjson.decode(raw)
      if entry.d ~= digest then return 'conflict', 0, 0, 0, '' end
      if entry.s == 'done' then return 'done', entry.id, 0, 0, '' end
      if entry.t ~= writer then
        if redis.call('EXISTS', oldLock) == 1 then return 'pending', 0, 0, 0, '' end
        if entry.id ~= nil and redis.call('ZCOUNT', messages, entry.id, entry.id) > 0 then stored = entry.id end
        if not stored and not takeover then return 'pending', 0, 0, 0, '' end
      end
    end
  end

  if stored then
    local id = stored
    redis.call('SET', ledger, doneHead .. id .. '}', 'PX', ledgerMs)
    local message = redis.call('ZRANGE', messages, id, id, 'BYSCORE')[1]
    local read = 'true'
    if redis.call('ZSCORE', unread, id) then read = 'false' end
    redis.call('SPUBLISH', channel, headBefore .. roomJson .. headAfter ..
      eventHead .. string.sub(message, 1, -2) .. ',"read":' .. read .. '}]' .. tail)
    local count = redis.call('ZCARD', unread)
    return 'redelivered', id, count, tonumber(redis.call('GET', version) or '0'), ''
  end

  local id = redis.call('INCR', seq)
  if ledger then
    redis.call('SET', ledger, doneHead .. id .. '}', 'PX', ledgerMs)
  end
  redis.call('ZADD', unread, id, id)
  redis.call('ZADD', messages, id, '{"id":' .. id .. ',' .. body)
  if redis.call('PTTL', messages) < maxAgeMs then
    redis.call('PEXPIRE', messages, keepMs)
    redis.call('PEXPIRE', unread, keepMs)
  end
  if id > maxCount then
    redis.call('ZREMRANGEBYSCORE', messages, '-inf', id - maxCount)
    redis.call('ZREMRANGEBYSCORE', unread, '-inf', id - maxCount)
  end

  local oldestKept = ''
  local probe = 1
  while checkAge do
    local oldest = redis.call('ZRANGE', messages, 0, probe - 1, 'WITHSCORES')
    local cut = false
    for i = 1, #oldest, 2 do
      local created = string.match(string.sub(oldest[i], -${CREATED_TAIL}), '"created_at":"([^"]*)"}$') or ''
      if created >= cutoff then
        oldestKept = created
        break
      end
      cut = oldest[i + 1]
    end
    if cut then
      redis.call('ZREMRANGEBYSCORE', messages, '-inf', cut)
      redis.call('ZREMRANGEBYSCORE', unread, '-inf', cut)
    end
    if oldestKept ~= '' or #oldest < 2 * probe then break end
    probe = ${AGE_SCAN_BATCH}
  end

  redis.call('SPUBLISH', channel,
    headBefore .. roomJson .. headAfter .. eventHead .. '{"id":' .. id .. ',' .. pushRest .. tail)
  local count = redis.call('ZCARD', unread)
  -- Alone in it, the id made the unread set anew, without an expiry: it gets what the
  -- messages have left (at least maxAgeMs, renewed above), so it never outlives them.
  if count == 1 then redis.call('PEXPIRE', unread, redis.call('PTTL', messages)) end
  return 'written', id, count, redis.call('INCR', version), oldestKept
end

local reply = {}
for r = 1, #KEYS / width do
  local k = (r - 1) * width
  local a = ${FIXED_ARGS} + (r - 1) * 2
  local ledger, oldLock = false, false
  if width == 6 then ledger, oldLock = KEYS[k + 5], KEYS[k + 6] end
  local kind, id, count, version, oldest = append(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], ledger,
    oldLock, string.sub(takeovers, r, r) == '1', string.sub(ageChecks, r, r) == '1', ARGV[a + 1], ARGV[a + 2])
  local n = #reply
  reply[n + 1], reply[n + 2], reply[n + 3], reply[n + 4], reply[n + 5] = kind, id, count, version, oldest
end
return reply
`;

/**
 * The age retention of {@link run}, as the Lua's loop does it: drops the oldest messages
 * created before `cutoff`, in rounds, up to the first young one, and returns its created
 * time ('' when none is kept).
 */
function dropAged(store: StoreCommands, messages: string, unread: string, cutoff: string): string {
  for (let probe = 1; ; probe = AGE_SCAN_BATCH) {
    const oldest = store.zrange(messages, { min: -Infinity, max: Infinity, limit: probe });
    let cut: number | undefined;
    let kept = '';
    for (const { member, score } of oldest) {
      const created = CREATED_AT.exec(member.slice(-CREATED_TAIL))?.[1] ?? '';
      if (created >= cutoff) {
        kept = created;
        break;
      }
      cut = score;
    }
    if (cut !== undefined) {
      store.zremrangebyscore(messages, -Infinity, cut);
      store.zremrangebyscore(unread, -Infinity, cut);
    }
    if (kept !== '' || oldest.length < probe) return kept;
  }
}

/** The memory implementation of {@link APPEND_SCRIPT}: the same steps, in the same order. */
function run(store: StoreCommands, keys: readonly string[], args: readonly string[]): ScriptReply {
  const [body, eventHead, pushRest, maxCount, maxAgeMs, keepMs, cutoff = '', digest, writer, ledgerMs, doneHead] = args;
  const [takeovers = '', ageChecks = '', width = '', channelBefore, channelAfter, headBefore, headAfter, tail] =
    args.slice(11, FIXED_ARGS);

  const append = (
    [seq = '', messages = '', unread = '', version = '', ledger, oldLock = '']: readonly string[],
    takeover: boolean,
    checkAge: boolean,
    room: string,
    roomJson: string,
  ): AppendRecord => {
    const channel = `${channelBefore}${room}${channelAfter}`;
    const head = `${headBefore}${roomJson}${headAfter}`;
    let stored: number | undefined;
    if (ledger !== undefined) {
      const raw = store.get(ledger);
      if (raw !== null) {
        const entry = JSON.parse(raw) as LedgerEntry;
        if (entry.d !== digest) return ['conflict', 0, 0, 0, ''];
        if (entry.s === 'done') return ['done', entry.id, 0, 0, ''];
        if (entry.t !== writer) {
          if (store.pttl(oldLock) !== -2) return ['pending', 0, 0, 0, ''];
          if (entry.id !== undefined && store.zcount(messages, entry.id, entry.id) > 0) stored = entry.id;
          if (stored === undefined && !takeover) return ['pending', 0, 0, 0, ''];
        }
      }
    }

    if (ledger !== undefined && stored !== undefined) {
      const id = stored;
      store.set(ledger, `${doneHead}${id}}`, { ttlMs: Number(ledgerMs) });
      const message = store.zrange(messages, { min: id, max: id })[0]?.member ?? '';
      const read = store.zcount(unread, id, id) > 0 ? 'false' : 'true';
      store.publish(channel, `${head}${eventHead}${message.slice(0, -1)},"read":${read}}]${tail}`);
      const count = store.zcard(unread);
      return ['redelivered', id, count, Number(store.get(version) ?? 0), ''];
    }

    const id = store.incr(seq);
    if (ledger !== undefined) store.set(ledger, `${doneHead}${id}}`, { ttlMs: Number(ledgerMs) });
    store.zadd(unread, id, String(id));
    store.zadd(messages, id, `{"id":${id},${body}`);
    if (store.pttl(messages) < Number(maxAgeMs)) {
      store.expire(messages, Number(keepMs));
      store.expire(unread, Number(keepMs));
    }
    if (id > Number(maxCount)) {
      store.zremrangebyscore(messages, -Infinity, id - Number(maxCount));
      store.zremrangebyscore(unread, -Infinity, id - Number(maxCount));
    }

    const oldestKept = checkAge ? dropAged(store, messages, unread, cutoff) : '';

    store.publish(channel, `${head}${eventHead}{"id":${id},${pushRest}${tail}`);
    const count = store.zcard(unread);
    if (count === 1) store.expire(unread, store.pttl(messages));
    return ['written', id, count, store.incr(version), oldestKept];
  };

  const reply: ScriptReply = [];
  for (let r = 0; r * Number(width) < keys.length; r++) {
    const [room = '', roomJson = ''] = args.slice(FIXED_ARGS + r * 2, FIXED_ARGS + r * 2 + 2);
    const own = keys.slice(r * Number(width), (r + 1) * Number(width));
    reply.push(...append(own, takeovers[r] === '1', ageChecks[r] === '1', room, roomJson));
  }
  return reply;
}

/**
 * A new message for several recipients, each recipient's part one step that no reader,
 * writer or push of anyone else's can fall into the middle of: the idempotency key
 * checked (and marked done), the next id taken, the message stored unread, retention
 * applied (count, then age), its `message:new` published to the user's room, and the
 * unread count and read-state version read and raised. So a reader sees a message with
 * its unread id or neither; the pushes of one user reach every gateway in the order of
 * the ids, whichever worker wrote them; and the count and version are a pair. Keys:
 * {@link RecipientKeys} per recipient; arguments: {@link AppendArgs}; reply: an
 * {@link AppendRecord} per recipient.
 *
 * Another request's claim (written by a message-worker from before this script, which
 * claimed keys before it wrote, and recorded the id before storing the message, all under
 * the user's lock `msg:lock:<user>`) is `pending` while that lock is held: its request may
 * still store and push its message, and a second message for the key would follow. Once
 * the lock is gone (it expires by itself, so this is bounded), a claim with an id whose
 * message is stored is done: its request stored it and stopped before marking it. One
 * whose message is not stored (no id, or an id not stored yet) is waited for by the
 * caller, then taken over with `takeover`. A message's created time is read back as its JSON's last field
 * (`created_at`), which this script and the versions before it write last.
 */
export const APPEND_SCRIPT: StoreScript = { name: 'message-append', lua: LUA, run };

const KINDS = new Set<unknown>(['written', 'done', 'redelivered', 'pending', 'conflict']);

/** The records of {@link APPEND_SCRIPT}'s reply for `recipients`. @throws Error for a reply it does not give (a bug). */
export function appendRecords(reply: ScriptReply, recipients: number): AppendRecord[] {
  const records: AppendRecord[] = [];
  for (let at = 0; at < reply.length; at += RECORD_WIDTH) {
    const [kind, id, count, version, oldest] = [reply[at], reply[at + 1], reply[at + 2], reply[at + 3], reply[at + 4]];
    if (
      !KINDS.has(kind) ||
      typeof id !== 'number' ||
      typeof count !== 'number' ||
      typeof version !== 'number' ||
      typeof oldest !== 'string'
    ) {
      break;
    }
    records.push([kind as AppendRecord[0], id, count, version, oldest]);
  }
  if (records.length !== recipients || reply.length !== recipients * RECORD_WIDTH) {
    throw new Error(`message-append replied ${JSON.stringify(reply).slice(0, 200)} for ${recipients} recipients`);
  }
  return records;
}
