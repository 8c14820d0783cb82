import type { IncomingMessage } from 'node:http';

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
