import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError } from '@ctos/protocol';
import type { KeyValueStore } from '@ctos/transport';

/**
 * How long a retry first waits for a concurrent request with the same key to finish
 * (ms) before it settles the key itself under the user's lock (see {@link IdempotencyLedger}).
 */
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

/**
 * One request's hold on a key. Every method but {@link wait} must run under the user's
 * lock, where no other writer of the user can be.
 */
export interface Claim {
  /**
   * Resolves what the key stands for now: `done` with the id when a message exists under
   * it (created by an earlier request, or by one that died after storing it), else
   * `write` — and the key is this request's to write.
   */
  settle(messageExists: (id: number) => Promise<boolean>): Promise<{ kind: 'done'; id: number } | { kind: 'write' }>;
  /** Records the id about to be stored, before it is stored, so a takeover can find it. */
  writing(id: number): Promise<void>;
  /** Records the id stored under the key: retries answer it. */
  complete(id: number): Promise<void>;
}

type LedgerEntry = { s: 'pending'; d: string; t: string; id?: number } | { s: 'done'; d: string; id: number };

/**
 * Remembers producers' idempotency keys per recipient, so a retried `POST /messages`
 * creates nothing new and answers the ids of the first. `digest` fingerprints the message,
 * so a key reused for another message is refused rather than answered with the old id.
 *
 * A request claims the key with `SET NX` (pending, with its token), then, under the
 * user's lock, records the id it takes before storing the message and marks the key done
 * after. A pending key whose request died, or failed with Redis (its give-back failing
 * too), does not block retries: a retry waits a moment for it, then settles it under the
 * lock, where its holder cannot be writing — done if the recorded id was stored, else
 * taken over and written. So each message is created exactly once however requests with
 * one key overlap, die or fail, and a retry after an outage succeeds at once.
 *
 * Key: `msg:idem:<user>:<key>`, both URI-encoded; kept `ttlMs` in every state.
 */
export class IdempotencyLedger {
  constructor(
    private readonly store: KeyValueStore,
    private readonly ttlMs: number,
  ) {}

  /**
   * Claims `key` for `user`'s copy of the message fingerprinted by `digest`: resolves at
   * once with `{kind:'done', id}` when it is already done, else with the claim to settle
   * under the lock (after waiting up to {@link PENDING_WAIT_MS} for a concurrent holder).
   * @throws IdempotencyConflictError when the key was used for another message.
   */
  async claim(user: string, key: string, digest: string): Promise<{ kind: 'done'; id: number } | Claim> {
    const storeKey = `msg:idem:${encodeURIComponent(user)}:${encodeURIComponent(key)}`;
    const token = randomUUID();
    const entry = (id?: number): string =>
      JSON.stringify({ s: 'pending', d: digest, t: token, ...(id === undefined ? {} : { id }) } satisfies LedgerEntry);
    const read = async (): Promise<LedgerEntry | null> => {
      const raw = await this.store.get(storeKey);
      if (raw === null) return null;
      const record = JSON.parse(raw) as LedgerEntry;
      if (record.d !== digest) throw new IdempotencyConflictError();
      return record;
    };

    if (!(await this.store.set(storeKey, entry(), { nx: true, ttlMs: this.ttlMs }))) {
      // Someone has it: usually a request finishing right now, so its id is a moment away.
      const deadline = Date.now() + PENDING_WAIT_MS;
      for (;;) {
        const record = await read();
        if (record?.s === 'done') return { kind: 'done', id: record.id };
        if (record === null || Date.now() >= deadline) break;
        await sleep(PENDING_POLL_MS);
      }
    }

    return {
      settle: async (messageExists) => {
        const record = await read();
        if (record?.s === 'done') return { kind: 'done', id: record.id };
        if (
          record?.s === 'pending' &&
          record.t !== token &&
          record.id !== undefined &&
          (await messageExists(record.id))
        ) {
          // Its request stored the message and died (or failed) before marking the key.
          await this.store.set(
            storeKey,
            JSON.stringify({ s: 'done', d: digest, id: record.id } satisfies LedgerEntry),
            {
              ttlMs: this.ttlMs,
            },
          );
          return { kind: 'done', id: record.id };
        }
        // Ours, free, or another request's that stored nothing: this request writes it.
        if (record?.t !== token) await this.store.set(storeKey, entry(), { ttlMs: this.ttlMs });
        return { kind: 'write' };
      },
      writing: async (id) => {
        await this.store.set(storeKey, entry(id), { ttlMs: this.ttlMs });
      },
      complete: async (id) => {
        await this.store.set(storeKey, JSON.stringify({ s: 'done', d: digest, id } satisfies LedgerEntry), {
          ttlMs: this.ttlMs,
        });
      },
    };
  }
}
