import type { Disposable } from '@ctos/protocol';
import type { Gauge } from 'prom-client';

/**
 * The owner of the requests (bus and HTTP) a message-worker is handling: each counts as
 * load, and in `gauge`, until it settles. A request is never cut short, so disposing waits
 * for those running then to settle; one taken after that (a drained worker answers its
 * inbox until the transport closes) is still counted.
 */
export class InFlightRequests implements Disposable {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly gauge: Gauge) {}

  /** Requests running now: the load this worker heartbeats. */
  get size(): number {
    return this.running.size;
  }

  /** Counts `request` until it settles; returns it as it is. */
  add<T>(request: Promise<T>): Promise<T> {
    this.running.add(request);
    this.gauge.inc();
    const settle = (): void => {
      this.running.delete(request);
      this.gauge.dec();
    };
    request.then(settle, settle);
    return request;
  }

  /** Resolves once every request running now has settled, fulfilled or not. */
  async dispose(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}
