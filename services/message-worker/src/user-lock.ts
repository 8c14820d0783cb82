import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError } from '@ctos/protocol';
import type { KeyValueStore } from '@ctos/transport';

/**
 * How long a holder keeps the lock before it expires by itself (ms). A holder does a
 * handful of store commands and two emits (a few ms); only a process that froze or died
 * holding it reaches this, and then the user's writes resume after it.
 */
export const LOCK_TTL_MS = 5000;

/** How long a writer waits for the lock before giving up with `UNAVAILABLE` (ms): one TTL, so a dead holder's lock is outlived. */
export const LOCK_WAIT_MS = LOCK_TTL_MS + 1000;

/** First and longest pause between attempts to take a busy lock (ms): short, because holds are short. */
const RETRY_FIRST_MS = 2;
const RETRY_MAX_MS = 50;

/** Options of {@link UserLock}, for tests. */
export interface UserLockOptions {
  ttlMs: number;
  waitMs: number;
}

/**
 * Runs one user's writes one at a time across every message-worker: an in-process queue
 * per user (so a busy process does not poll the store against itself), then a lock in
 * the store (`SET NX PX`) against the other workers. Ids are taken, stored and emitted
 * inside it, so a client sees a user's messages and unread counts in id order and a
 * sync never skips an id that is still being written.
 *
 * Errors it produces: `UNAVAILABLE` when the lock is not free within
 * {@link LOCK_WAIT_MS}; store failures are passed on as they are.
 */
export class UserLock {
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly store: KeyValueStore,
    private readonly keyOf: (user: string) => string,
    private readonly options: UserLockOptions = { ttlMs: LOCK_TTL_MS, waitMs: LOCK_WAIT_MS },
  ) {}

  /** Runs `work` while holding `user`'s lock, and returns what it returns. */
  async run<T>(user: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(user) ?? Promise.resolve();
    let done!: () => void;
    const turn = new Promise<void>((resolve) => (done = resolve));
    // Each link only ever resolves, so one failed write never blocks the next.
    const tail = previous.then(() => turn);
    this.queues.set(user, tail);
    try {
      await previous;
      return await this.holdingStoreLock(user, work);
    } finally {
      done();
      if (this.queues.get(user) === tail) this.queues.delete(user);
    }
  }

  private async holdingStoreLock<T>(user: string, work: () => Promise<T>): Promise<T> {
    const key = this.keyOf(user);
    const token = randomUUID();
    const deadline = Date.now() + this.options.waitMs;
    let pause = RETRY_FIRST_MS;
    while (!(await this.store.set(key, token, { nx: true, ttlMs: this.options.ttlMs }))) {
      if (Date.now() >= deadline) {
        throw new ServiceError('UNAVAILABLE', 'Messages for this user are busy; try again shortly.');
      }
      await sleep(pause);
      pause = Math.min(pause * 2, RETRY_MAX_MS);
    }
    try {
      return await work();
    } finally {
      // Get-then-delete is not atomic: it only matters if this hold outlived its TTL, and
      // then the lock already passed on. A failed release is safe: the lock expires.
      await this.store
        .get(key)
        .then((holder) => (holder === token ? this.store.del(key) : undefined))
        .catch(() => undefined);
    }
  }
}
