import type { KeyValueStore } from '../store';

type Value =
  | { t: 'string'; v: string }
  | { t: 'hash'; v: Map<string, string> }
  | { t: 'set'; v: Set<string> }
  | { t: 'zset'; v: Map<string, number> }
  | { t: 'list'; v: string[] };

/** {@link KeyValueStore} in a Map, for embedded mode. Expiry is checked on access. */
export class MemoryStore implements KeyValueStore {
  private readonly data = new Map<string, Value>();
  private readonly expiry = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  private read<T extends Value['t']>(key: string, t: T): Extract<Value, { t: T }> | undefined {
    const at = this.expiry.get(key);
    if (at !== undefined && at <= this.now()) {
      this.data.delete(key);
      this.expiry.delete(key);
    }
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

  async get(key: string): Promise<string | null> {
    return this.read(key, 'string')?.v ?? null;
  }

  async set(key: string, value: string, options: { nx?: boolean; ttlMs?: number } = {}): Promise<boolean> {
    if (options.nx && this.read(key, 'string')) return false;
    this.data.set(key, { t: 'string', v: value });
    if (options.ttlMs !== undefined) this.expiry.set(key, this.now() + options.ttlMs);
    else this.expiry.delete(key);
    return true;
  }

  async del(...keys: string[]): Promise<void> {
    for (const key of keys) {
      this.data.delete(key);
      this.expiry.delete(key);
    }
  }

  async incr(key: string): Promise<number> {
    const current = this.read(key, 'string');
    const next = (current ? Number(current.v) : 0) + 1;
    this.data.set(key, { t: 'string', v: String(next) });
    return next;
  }

  async expire(key: string, ttlMs: number): Promise<void> {
    if (this.data.has(key)) this.expiry.set(key, this.now() + ttlMs);
  }

  async hset(key: string, fields: Record<string, string>): Promise<void> {
    const hash = this.write(key, 'hash', () => ({ t: 'hash', v: new Map() }));
    for (const [field, value] of Object.entries(fields)) hash.v.set(field, value);
  }

  async hget(key: string, field: string): Promise<string | null> {
    return this.read(key, 'hash')?.v.get(field) ?? null;
  }

  async hgetall(key: string): Promise<Record<string, string> | null> {
    const hash = this.read(key, 'hash');
    return hash ? Object.fromEntries(hash.v) : null;
  }

  async hdel(key: string, ...fields: string[]): Promise<void> {
    const hash = this.read(key, 'hash');
    if (!hash) return;
    for (const field of fields) hash.v.delete(field);
    this.prune(key, hash.v.size);
  }

  async sadd(key: string, ...members: string[]): Promise<void> {
    const set = this.write(key, 'set', () => ({ t: 'set', v: new Set() }));
    for (const member of members) set.v.add(member);
  }

  async srem(key: string, ...members: string[]): Promise<void> {
    const set = this.read(key, 'set');
    if (!set) return;
    for (const member of members) set.v.delete(member);
    this.prune(key, set.v.size);
  }

  async smembers(key: string): Promise<string[]> {
    return [...(this.read(key, 'set')?.v ?? [])];
  }

  async zadd(key: string, score: number, member: string): Promise<void> {
    this.write(key, 'zset', () => ({ t: 'zset', v: new Map() })).v.set(member, score);
  }

  async zrem(key: string, ...members: string[]): Promise<void> {
    const zset = this.read(key, 'zset');
    if (!zset) return;
    for (const member of members) zset.v.delete(member);
    this.prune(key, zset.v.size);
  }

  async zrange(
    key: string,
    range: { min: number; max: number; exclusiveMin?: boolean; reverse?: boolean; limit?: number },
  ): Promise<Array<{ member: string; score: number }>> {
    const zset = this.read(key, 'zset');
    if (!zset) return [];
    const inRange = [...zset.v]
      .filter(([, s]) => (range.exclusiveMin ? s > range.min : s >= range.min) && s <= range.max)
      .map(([member, score]) => ({ member, score }))
      .sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
    if (range.reverse) inRange.reverse();
    return range.limit === undefined ? inRange : inRange.slice(0, range.limit);
  }

  async zcount(key: string, min: number, max: number): Promise<number> {
    return (await this.zrange(key, { min, max })).length;
  }

  async zremrangebyscore(key: string, min: number, max: number): Promise<void> {
    const zset = this.read(key, 'zset');
    if (!zset) return;
    for (const [member, score] of zset.v) if (score >= min && score <= max) zset.v.delete(member);
    this.prune(key, zset.v.size);
  }

  async zcard(key: string): Promise<number> {
    return this.read(key, 'zset')?.v.size ?? 0;
  }

  async rpush(key: string, ...values: string[]): Promise<number> {
    const list = this.write(key, 'list', () => ({ t: 'list', v: [] }));
    list.v.push(...values);
    return list.v.length;
  }

  async lrange(key: string, start: number, stop: number): Promise<string[]> {
    const list = this.read(key, 'list')?.v ?? [];
    const from = start < 0 ? Math.max(0, list.length + start) : start;
    const to = stop < 0 ? list.length + stop : Math.min(stop, list.length - 1);
    return to < from ? [] : list.slice(from, to + 1);
  }

  async llen(key: string): Promise<number> {
    return this.read(key, 'list')?.v.length ?? 0;
  }
}
