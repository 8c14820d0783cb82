/**
 * Thrown out of a reply's timeline once its connection is gone (the client closed it, a fault dropped it,
 * or the stand-in is closing), so that no timer or write outlives the request.
 */
export class ConnectionGone extends Error {
  constructor() {
    super('connection closed');
    this.name = 'ConnectionGone';
  }
}

/**
 * Waits `ms` milliseconds, or rejects with {@link ConnectionGone} as soon as `signal` aborts; the timer is
 * cleared either way. Zero and negative waits resolve without a timer.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new ConnectionGone());
  if (!(ms > 0)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ConnectionGone());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Never resolves; rejects with {@link ConnectionGone} when `signal` aborts. Used to hold a stalled response open. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  if (signal.aborted) return Promise.reject(new ConnectionGone());
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(new ConnectionGone()), { once: true });
  });
}
