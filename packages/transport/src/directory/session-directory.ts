import type { KeyValueStore } from '../store';

/** Where a session lives and whose it is. Times are ISO 8601. */
export interface SessionRecord {
  session_id: string;
  worker: string;
  user: string;
  created_at: string;
}

/**
 * Maps sessions to their worker and user, and back: the owning worker writes, gateways
 * read, and whoever reaps a dead worker removes its entries. Keys (under the store's
 * prefix): `<ns>:s:<session>` hash, `<ns>:u:<user>` set, `<ns>:w:<worker>` set.
 */
export class SessionDirectory {
  constructor(
    private readonly store: KeyValueStore,
    private readonly namespace: string,
  ) {}

  private key(kind: 's' | 'u' | 'w', id: string): string {
    return `${this.namespace}:${kind}:${id}`;
  }

  async register(record: SessionRecord): Promise<void> {
    await this.store.hset(this.key('s', record.session_id), { ...record });
    await this.store.sadd(this.key('u', record.user), record.session_id);
    await this.store.sadd(this.key('w', record.worker), record.session_id);
  }

  /** The record, or null for an unknown session. */
  async lookup(sessionId: string): Promise<SessionRecord | null> {
    const hash = await this.store.hgetall(this.key('s', sessionId));
    if (!hash?.worker || !hash.user || !hash.created_at) return null;
    return { session_id: sessionId, worker: hash.worker, user: hash.user, created_at: hash.created_at };
  }

  async remove(record: Pick<SessionRecord, 'session_id' | 'user' | 'worker'>): Promise<void> {
    await this.store.del(this.key('s', record.session_id));
    await this.store.srem(this.key('u', record.user), record.session_id);
    await this.store.srem(this.key('w', record.worker), record.session_id);
  }

  /** Ids of a user's sessions. */
  async forUser(user: string): Promise<string[]> {
    return this.store.smembers(this.key('u', user));
  }

  /** Ids of a worker's sessions. */
  async forWorker(worker: string): Promise<string[]> {
    return this.store.smembers(this.key('w', worker));
  }

  /** Removes every entry of a worker (it died) and returns the records removed. */
  async removeWorker(worker: string): Promise<SessionRecord[]> {
    const removed: SessionRecord[] = [];
    for (const sessionId of await this.forWorker(worker)) {
      const record = await this.lookup(sessionId);
      if (record) {
        await this.remove(record);
        removed.push(record);
      }
    }
    await this.store.del(this.key('w', worker));
    return removed;
  }
}
