import { ServiceError } from '@ctos/protocol';

/**
 * How long a write waits for another request's claim of its key whose message is not
 * stored (ms) before it takes the key over, and longer while the user's lock of that
 * request's worker is held. Only a message-worker from before the append script leaves
 * such a claim (it claimed keys before writing); a current one marks a key done in the
 * same step as it stores and publishes the message, so it leaves no claim at all.
 */
export const PENDING_WAIT_MS = 3000;

/** Pause between looks at such a claim (ms). */
export const PENDING_POLL_MS = 25;

/** The key was used before with a different message: the producer has a bug, and nothing is created. */
export class IdempotencyConflictError extends ServiceError {
  constructor() {
    super('INVALID_PAYLOAD', 'This idempotency key was already used for a different message; use a new key.');
    this.name = 'IdempotencyConflictError';
  }
}

/**
 * An entry of the idempotency ledger: per recipient, what a producer's key stands for, so
 * a retried `POST /messages` creates nothing new and answers the ids of the first. `d`
 * fingerprints the message (`draftDigest`), so a key reused for another message is
 * refused rather than answered with the old id.
 * - `done`: message `id` was stored and published; retries answer `id`. The append
 *   script writes it in the step that stores and publishes the message, so each message
 *   is created exactly once however requests with one key overlap, die or fail.
 * - `pending`: request `t` was writing it. Only message-workers from before the append
 *   script wrote these (a claim before the write, then the id before storing, then done
 *   after delivering, all but the claim under the user's lock); the append script
 *   settles them: it waits while that lock is held, then finds the message of one with
 *   an id, delivers it again and marks it done, and takes over one whose message is not
 *   stored once it has waited `PENDING_WAIT_MS`.
 *
 * Kept the key's TTL in every state.
 */
export type LedgerEntry = { s: 'pending'; d: string; t: string; id?: number } | { s: 'done'; d: string; id: number };

/** The store key of `user`'s ledger entry for `key`: `msg:idem:<user>:<key>`, both URI-encoded. */
export function ledgerKey(user: string, key: string): string {
  return `msg:idem:${encodeURIComponent(user)}:${encodeURIComponent(key)}`;
}
