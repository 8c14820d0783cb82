import type { StoreCommands } from '../store';

type Value =
  | { t: 'string'; v: string }
  | { t: 'hash'; v: Map<string, string> }
  | { t: 'set'; v: Set<string> }
  | { t: 'zset'; v: Map<string, number> }
  | { t: 'list'; v: string[] };

/** Where a {@link MemoryCommands}' `publish` goes: the in-process room hub, in a memory transport. */
export type PublishSink = (channel: string, message: string) => void;

/**
 * The data of a {@link MemoryStore} and its commands, answered at once: what the store's
 * calls and its scripts' memory twins run on. Expiry is checked on access.
 */
export class MemoryCommands implements StoreCommands {
  private readonly data = new Map<string, Value>();
  private readonly expiry = new Map<string, number>();

  /** `sink` hears what scripts publish; without one, nobody does (as on a Redis nobody subscribes to). */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly sink: PublishSink = () => undefined,
  ) {}

  publish(channel: string, message: string): void {
    this.sink(channel, message);
  }

  /** Forgets `key` if its time has come. */
  private expired(key: string): void {
    const at = this.expiry.get(key);
    if (at !== undefined && at <= this.now()) {
      this.data.delete(key);
      this.expiry.delete(key);
    }
  }

  private read<T extends Value['t']>(key: string, t: T): Extract<Value, { t: T }> | undefined {
    this.expired(key);
    const value = this.data.get(key);
    if (!value) return undefined;
    if (value.t !== t) throw new Error(`WRONGTYPE ${key} holds a ${value.t}, not a ${t}`);
    return value as Extract<Value, { t: T }>;
  }

  private write<T extends Value['t']>(
    key: string,
    t: T,
    make: () => Extract<Value, { t: T }>,
  ): Extract<Value, { t: T }> {
    const existing = this.read(key, t);
    if (existing) return existing;
    const created = make();
    this.data.set(key, created);
    return created;
  }

  /** Removes a container that became empty, as Redis does. */
  private prune(key: string, size: number): void {
    if (size === 0) {
      this.data.delete(key);
      this.expiry.delete(key);
    }
  }

  get(key: string): string | null {
    return this.read(key, 'string')?.v ?? null;
  }

  set(key: string, value: string, options: { nx?: boolean; ttlMs?: number } = {}): boolean {
    if (options.nx && this.read(key, 'string')) return false;
    this.data.set(key, { t: 'string', v: value });
    if (options.ttlMs !== undefined) this.expiry.set(key, this.now() + options.ttlMs);
    else this.expiry.delete(key);
    return true;
  }

  del(...keys: string[]): void {
    for (const key of keys) {
      this.data.delete(key);
      this.expiry.delete(key);
    }
  }

  incr(key: string): number {
    const current = this.read(key, 'string');
    const next = (current ? Number(current.v) : 0) + 1;
    this.data.set(key, { t: 'string', v: String(next) });
    return next;
  }

  expire(key: string, ttlMs: number): void {
    this.expired(key);
    if (this.data.has(key)) this.expiry.set(key, this.now() + ttlMs);
  }

  pttl(key: string): number {
    this.expired(key);
    if (!this.data.has(key)) return -2;
    const at = this.expiry.get(key);
    return at === undefined ? -1 : at - this.now();
  }

  hset(key: string, fields: Record<string, string>): void {
    const hash = this.write(key, 'hash', () => ({ t: 'hash', v: new Map() }));
    for (const [field, value] of Object.entries(fields)) hash.v.set(field, value);
  }

  hget(key: string, field: string): string | null {
    return this.read(key, 'hash')?.v.get(field) ?? null;
  }

  hgetall(key: string): Record<string, string> | null {
    const hash = this.read(key, 'hash');
    return hash ? Object.fromEntries(hash.v) : null;
  }

  hdel(key: string, ...fields: string[]): void {
    const hash = this.read(key, 'hash');
    if (!hash) return;
    for (const field of fields) hash.v.delete(field);
    this.prune(key, hash.v.size);
  }

  sadd(key: string, ...members: string[]): void {
    const set = this.write(key, 'set', () => ({ t: 'set', v: new Set() }));
    for (const member of members) set.v.add(member);
  }

  srem(key: string, ...members: string[]): void {
    const set = this.read(key, 'set');
    if (!set) return;
    for (const member of members) set.v.delete(member);
    this.prune(key, set.v.size);
  }

  smembers(key: string): string[] {
    return [...(this.read(key, 'set')?.v ?? [])];
  }

  zadd(key: string, score: number, member: string): void {
    this.write(key, 'zset', () => ({ t: 'zset', v: new Map() })).v.set(member, score);
  }

  zrem(key: string, ...members: string[]): void {
    const zset = this.read(key, 'zset');
    if (!zset) return;
    for (const member of members) zset.v.delete(member);
    this.prune(key, zset.v.size);
  }

  zrange(
    key: string,
    range: { min: number; max: number; exclusiveMin?: boolean; reverse?: boolean; limit?: number },
  ): Array<{ member: string; score: number }> {
    const zset = this.read(key, 'zset');
    if (!zset) return [];
    const inRange = [...zset.v]
      .filter(([, s]) => (range.exclusiveMin ? s > range.min : s >= range.min) && s <= range.max)
      .map(([member, score]) => ({ member, score }))
      .sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
    if (range.reverse) inRange.reverse();
    return range.limit === undefined ? inRange : inRange.slice(0, range.limit);
  }

  zcount(key: string, min: number, max: number): number {
    return this.zrange(key, { min, max }).length;
  }

  zremrangebyscore(key: string, min: number, max: number): void {
    const zset = this.read(key, 'zset');
    if (!zset) return;
    for (const [member, score] of zset.v) if (score >= min && score <= max) zset.v.delete(member);
    this.prune(key, zset.v.size);
  }

  zcard(key: string): number {
    return this.read(key, 'zset')?.v.size ?? 0;
  }

  rpush(key: string, ...values: string[]): number {
    const list = this.write(key, 'list', () => ({ t: 'list', v: [] }));
    list.v.push(...values);
    return list.v.length;
  }

  lrange(key: string, start: number, stop: number): string[] {
    const list = this.read(key, 'list')?.v ?? [];
    const from = start < 0 ? Math.max(0, list.length + start) : start;
    const to = stop < 0 ? list.length + stop : Math.min(stop, list.length - 1);
    return to < from ? [] : list.slice(from, to + 1);
  }

  llen(key: string): number {
    return this.read(key, 'list')?.v.length ?? 0;
  }
}
