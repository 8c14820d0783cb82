import { ServiceError } from '@ctos/protocol';
import type { SessionDirectory, SessionRecord } from '@ctos/transport';

/** Directory entries kept in memory; session → worker never changes, so they never go stale silently. */
const DIRECTORY_CACHE_ENTRIES = 50_000;

/**
 * The terminal session directory as a gateway reads it: which worker holds a session
 * and whose it is. Entries read are kept in memory (the oldest dropped past
 * DIRECTORY_CACHE_ENTRIES) and forgotten when their session ends or their worker dies.
 */
export class TerminalDirectory {
  private readonly cache = new Map<string, SessionRecord>();

  constructor(private readonly directory: SessionDirectory) {}

  /** Keeps `record` in memory (a session just created here). */
  remember(record: SessionRecord): void {
    if (this.cache.size >= DIRECTORY_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(record.session_id, record);
  }

  /**
   * The session's record if it is `user`'s.
   * @throws ServiceError `NOT_FOUND` for anyone else's session or a made-up id.
   */
  async owned(sessionId: string, user: string): Promise<SessionRecord> {
    let record = this.cache.get(sessionId);
    if (!record) {
      record = (await this.directory.lookup(sessionId)) ?? undefined;
      if (record) this.remember(record);
    }
    if (!record || record.user !== user) throw new ServiceError('NOT_FOUND', 'No such terminal session.');
    return record;
  }

  /** Drops the session's entry from memory (it has ended). */
  forget(sessionId: string): void {
    this.cache.delete(sessionId);
  }

  /** A rejection handler for a worker's answer: on `NOT_FOUND` the session has ended and is forgotten; it rethrows. */
  forgetOnNotFound(sessionId: string): (error: unknown) => never {
    return (error) => {
      if (error instanceof ServiceError && error.code === 'NOT_FOUND') this.forget(sessionId);
      throw error;
    };
  }

  /** Drops from memory every entry of a worker that died. */
  forgetWorker(worker: string): void {
    for (const [sessionId, record] of this.cache) if (record.worker === worker) this.cache.delete(sessionId);
  }

  /** Ids of `user`'s sessions, as the directory lists them. */
  forUser(user: string): Promise<string[]> {
    return this.directory.forUser(user);
  }

  /** Removes a dead worker's entries from the directory itself; resolves with the records removed. */
  removeWorker(worker: string): Promise<SessionRecord[]> {
    return this.directory.removeWorker(worker);
  }
}
