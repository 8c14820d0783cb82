/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** Poll period (ms). */
  intervalMs?: number;
  /** Said in the error when it times out. */
  message?: string;
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false` without
 * throwing, and returns that value. Tests await conditions; they never sleep.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as Exclude<T, false | undefined>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`${options.message ?? 'condition not met'} within ${options.timeoutMs ?? 10_000} ms${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20));
  }
}
