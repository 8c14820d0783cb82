/**
 * Waits for every promise of `waits` to settle, `ms` at most (its timer cleared either
 * way; `Infinity`: no bound), and resolves with the keys of those still pending then, in `waits`' order. Never
 * rejects. A drain's hand-offs wait on Redis, which may be paused (it answers nothing and
 * errors nothing): this bounds each wait, and names what did not make it.
 */
export async function pendingAfter<K>(waits: ReadonlyMap<K, Promise<unknown>>, ms: number): Promise<K[]> {
  const pending = new Set(waits.keys());
  let timer: NodeJS.Timeout | undefined;
  const settled = Promise.all(
    [...waits].map(([key, wait]) =>
      wait.then(
        () => pending.delete(key),
        () => pending.delete(key),
      ),
    ),
  );
  // An infinite wait sets no timer (setTimeout would take it for 1 ms).
  const bound = Number.isFinite(ms) ? new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))) : settled;
  await Promise.race([settled, bound]);
  clearTimeout(timer);
  return [...pending];
}
