import type { DisposableStore } from '@ctos/protocol';

/**
 * Calls `fire` once after `ms` (milliseconds) unless `owner` is disposed first: the timer
 * has an owner that clears it. Returns the timer, so a caller can `refresh()` it.
 */
export function ownedTimeout(owner: DisposableStore, ms: number, fire: () => void): NodeJS.Timeout {
  const timer = setTimeout(fire, ms);
  owner.defer(() => clearTimeout(timer));
  return timer;
}
