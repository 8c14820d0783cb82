import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError } from '@ctos/protocol';
import type { KeyValueStore } from '@ctos/transport';

/**
 * How long an unfinished claim blocks a retry (ms). It outlasts the slowest live write
 * (waiting for the user's lock, then a few commands); if its holder died, a retry after
 * this creates the message.
 */
export const PENDING_TTL_MS = 30_000;

/** How long a retry waits for a concurrent request with the same key to finish (ms), before answering 409. */
export const PENDING_WAIT_MS = 3000;

/** Poll period while waiting for a concurrent request with the same key (ms). */
const PENDING_POLL_MS = 25;

/** The key was used before with a different message: the producer has a bug, and nothing is created. */
export class IdempotencyConflictError extends ServiceError {
  constructor() {
    super('INVALID_PAYLOAD', 'This idempotency key was already used for a different message; use a new key.');
    this.name = 'IdempotencyConflictError';
  }
}

/** A request with the same key is being processed right now; the producer should retry shortly. */
export class IdempotencyBusyError extends ServiceError {
  constructor() {
    super('UNAVAILABLE', 'A request with this idempotency key is still being processed; retry shortly.');
    this.name = 'IdempotencyBusyError';
  }
}

/** The outcome of {@link IdempotencyLedger.claim}. */
export type Claim =
  | {
      kind: 'new';
      /** Records the id created under this key, so retries answer it. */
      complete(id: number): Promise<void>;
      /** Gives the key back after a failure, so a retry can try again at once. */
      abandon(): Promise<void>;
    }
  | { kind: 'duplicate'; id: number };

type LedgerEntry = { s: 'pending'; d: string; t: string } | { s: 'done'; d: string; id: number };

/**
 * Remembers producers' idempotency keys per recipient, so a retried `POST /messages`
 * creates nothing new and answers the ids of the first. A key is claimed with
 * `SET NX` before anything is written: of concurrent requests with one key, one writes
 * and the others wait for its id. `digest` fingerprints the message, so a key reused
 * for another message is refused rather than silently answered with the old id.
 *
 * Key: `msg:idem:<user>:<key>`, both URI-encoded.
 */
export class IdempotencyLedger {
  constructor(
    private readonly store: KeyValueStore,
    private readonly ttlMs: number,
  ) {}

  /**
   * Claims `key` for `user`'s copy of the message fingerprinted by `digest`.
   * @throws IdempotencyConflictError when the key was used for another message.
   * @throws IdempotencyBusyError when a request with the key is still unfinished after {@link PENDING_WAIT_MS}.
   */
  async claim(user: string, key: string, digest: string): Promise<Claim> {
    const storeKey = `msg:idem:${encodeURIComponent(user)}:${encodeURIComponent(key)}`;
    const deadline = Date.now() + PENDING_WAIT_MS;
    for (;;) {
      const token = randomUUID();
      const pending = JSON.stringify({ s: 'pending', d: digest, t: token } satisfies LedgerEntry);
      if (await this.store.set(storeKey, pending, { nx: true, ttlMs: PENDING_TTL_MS })) {
        return {
          kind: 'new',
          complete: async (id) => {
            await this.store.set(storeKey, JSON.stringify({ s: 'done', d: digest, id } satisfies LedgerEntry), {
              ttlMs: this.ttlMs,
            });
          },
          abandon: async () => {
            // Only our own pending claim is given back; a failure leaves it to expire.
            const current = await this.store.get(storeKey).catch(() => null);
            if (current === pending) await this.store.del(storeKey).catch(() => undefined);
          },
        };
      }
      const raw = await this.store.get(storeKey);
      if (raw === null) continue; // the other claim expired or was given back: try again
      const record = JSON.parse(raw) as LedgerEntry;
      if (record.d !== digest) throw new IdempotencyConflictError();
      if (record.s === 'done') return { kind: 'duplicate', id: record.id };
      if (Date.now() >= deadline) throw new IdempotencyBusyError();
      await sleep(PENDING_POLL_MS);
    }
  }
}
