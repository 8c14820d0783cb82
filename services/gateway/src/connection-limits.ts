import type { IncomingMessage } from 'node:http';
import type { Disposable } from '@ctos/protocol';

/**
 * Counts this gateway's sockets per user and per source address, so one user or one
 * host cannot take every connection. Counts are per gateway: nginx sends an address to
 * one gateway (consistent hash), so the address limit holds cluster-wide for it; a user
 * connecting from many addresses can hold up to the limit on each gateway.
 */
export class ConnectionCounter {
  private readonly counts = new Map<string, number>();

  /** Counts one more for `key` unless it already has `limit`; true if counted. */
  acquire(key: string, limit: number): boolean {
    const count = this.counts.get(key) ?? 0;
    if (count >= limit) return false;
    this.counts.set(key, count + 1);
    return true;
  }

  /** Counts one less for `key`. */
  release(key: string): void {
    const count = this.counts.get(key) ?? 0;
    if (count <= 1) this.counts.delete(key);
    else this.counts.set(key, count - 1);
  }

  /** Keys with at least one connection (for tests and metrics). */
  get size(): number {
    return this.counts.size;
  }
}

/** Which limit a refused connection met: its user's, or its address's. */
export type LimitReached = 'user' | 'address';

/**
 * The per-user and per-address socket limits of one gateway
 * (GATEWAY_MAX_SOCKETS_PER_USER, GATEWAY_MAX_SOCKETS_PER_ADDRESS), both counted in sockets.
 */
export class ConnectionLimits {
  private readonly perUser = new ConnectionCounter();
  private readonly perAddress = new ConnectionCounter();

  constructor(
    private readonly maxPerUser: number,
    private readonly maxPerAddress: number,
  ) {}

  /**
   * Counts a socket of `user` from `address` against both limits: a Disposable that
   * uncounts it, or the limit it met (then nothing is counted).
   */
  acquire(user: string, address: string): Disposable | LimitReached {
    if (!this.perUser.acquire(user, this.maxPerUser)) return 'user';
    if (!this.perAddress.acquire(address, this.maxPerAddress)) {
      this.perUser.release(user);
      return 'address';
    }
    let released = false;
    return {
      dispose: () => {
        if (released) return;
        released = true;
        this.perUser.release(user);
        this.perAddress.release(address);
      },
    };
  }

  /** The limit a socket of `user` from `address` would meet now, counting nothing; undefined if none. */
  check(user: string, address: string): LimitReached | undefined {
    const held = this.acquire(user, address);
    if (typeof held === 'string') return held;
    void held.dispose();
    return undefined;
  }
}

/**
 * The client's address: the socket's peer, or — behind a trusted proxy such as our
 * nginx — the last address the proxy appended to `X-Forwarded-For`.
 */
export function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers['x-forwarded-for'];
    const value = Array.isArray(forwarded) ? forwarded[forwarded.length - 1] : forwarded;
    const last = value?.split(',').pop()?.trim();
    if (last) return last;
  }
  return request.socket.remoteAddress ?? 'unknown';
}
