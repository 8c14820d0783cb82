import type { Disposable } from '@ctos/protocol';
import { pendingAfter, type HandoffReport } from '@ctos/runtime';
import type { Gauge } from 'prom-client';

/**
 * The owner of the requests (bus and HTTP) a message-worker is handling: each counts as
 * load, and in `gauge`, until it settles. A request is never cut short, so disposing waits
 * for those running then to settle — `waitMs` at most (a paused Redis answers nothing),
 * after which each still running is named in `report` as `request` (its number since the
 * start). One taken after that (a drained worker answers its inbox until the transport
 * closes) is still counted.
 */
export class InFlightRequests implements Disposable {
  private readonly running = new Map<string, Promise<unknown>>();
  private taken = 0;
  private finished: Promise<boolean> | undefined;

  constructor(
    private readonly gauge: Gauge,
    private readonly waitMs = Infinity,
    private readonly report?: HandoffReport,
  ) {}

  /** Requests running now: the load this worker heartbeats. */
  get size(): number {
    return this.running.size;
  }

  /** Counts `request` until it settles; returns it as it is. */
  add<T>(request: Promise<T>): Promise<T> {
    const key = String(++this.taken);
    this.running.set(key, request);
    this.gauge.inc();
    const settle = (): void => {
      this.running.delete(key);
      this.gauge.dec();
    };
    request.then(settle, settle);
    return request;
  }

  /**
   * Resolves once every request running at the first call has settled (true), or `waitMs`
   * has passed (false; those still running are reported); never rejects. Later calls
   * share the first one's wait.
   */
  finish(): Promise<boolean> {
    // Once: the server's close and the worker's drain both wait here, one bound in all.
    this.finished ??= pendingAfter(this.running, this.waitMs).then((late) => {
      for (const key of late) this.report?.add('request', key);
      return late.length === 0;
    });
    return this.finished;
  }

  /** {@link finish}. */
  async dispose(): Promise<void> {
    await this.finish();
  }
}
