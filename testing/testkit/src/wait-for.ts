/** Options of {@link waitFor} and {@link waitForValue}. */
export interface WaitOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** Poll period (ms). */
  intervalMs?: number;
  /** Said in the error when it times out. */
  message?: string;
}

/**
 * Polls `condition` until it returns `true` (exactly: a truthy value that is not `true`
 * is not a condition met), without throwing. Tests await conditions; they never sleep.
 * @throws Error with `options.message` (and the probe's last error) after `timeoutMs` (default 10,000 ms)
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<void> {
  await poll(async () => ((await condition()) === true ? { value: undefined } : undefined), options);
}

/**
 * Polls `probe` until it returns a value (anything but `undefined` or `null`: `0`, `''`
 * and `false` are values), without throwing, and returns it.
 * @throws Error with `options.message` (and the probe's last error) after `timeoutMs` (default 10,000 ms)
 */
export async function waitForValue<T>(
  probe: () => T | null | undefined | Promise<T | null | undefined>,
  options: WaitOptions = {},
): Promise<T> {
  return poll(async () => {
    const value = await probe();
    return value === undefined || value === null ? undefined : { value };
  }, options);
}

async function poll<T>(attempt: () => Promise<{ value: T } | undefined>, options: WaitOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const found = await attempt();
      if (found) return found.value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`${options.message ?? 'condition not met'} within ${timeoutMs} ms${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20));
  }
}
