/**
 * Users whose oldest kept message this process remembers at most: about 100 bytes each,
 * so some 10 MB; beyond it the longest remembered are forgotten (and looked at again).
 */
const REMEMBERED_USERS = 100_000;

/**
 * What this process last saw as each user's oldest kept message's created time, so a
 * write can skip looking for aged messages (the most costly part of the append step)
 * until that time reaches the age limit. Only ever too cautious: messages come in newer
 * than the oldest, and whatever is dropped (by count, by age, by another worker, by a
 * read) leaves an oldest that is younger than the one remembered. The one exception is
 * another worker whose clock runs behind, which can store a message older than the
 * oldest seen here: it is dropped that much later by writes (reads drop it on time).
 */
export class OldestMessages {
  private readonly createdAt = new Map<string, string>();

  /** Whether `user` may have a message created before `cutoff` (ISO 8601): unknown, or the oldest seen is. */
  mayHaveAged(user: string, cutoff: string): boolean {
    const oldest = this.createdAt.get(user);
    return oldest === undefined || oldest < cutoff;
  }

  /** Remembers that `user`'s oldest kept message was created at `createdAt` (ISO 8601). */
  saw(user: string, createdAt: string): void {
    this.createdAt.delete(user);
    this.createdAt.set(user, createdAt);
    if (this.createdAt.size > REMEMBERED_USERS) {
      const first = this.createdAt.keys().next();
      if (!first.done) this.createdAt.delete(first.value);
    }
  }
}
