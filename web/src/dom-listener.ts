import type { Disposable } from '@ctos/protocol';

/**
 * Adds `listener` for `type` on `target` until the returned disposable is disposed (VS
 * Code's `addDisposableListener`). The removal passes the same `options`, so a capture
 * listener is found again.
 */
export function addDisposableListener<K extends keyof HTMLElementEventMap>(
  target: HTMLElement,
  type: K,
  listener: (event: HTMLElementEventMap[K]) => void,
  options?: AddEventListenerOptions,
): Disposable;
export function addDisposableListener<K extends keyof WindowEventMap>(
  target: Window,
  type: K,
  listener: (event: WindowEventMap[K]) => void,
  options?: AddEventListenerOptions,
): Disposable;
export function addDisposableListener(
  target: EventTarget,
  type: string,
  listener: (event: Event) => void,
  options?: AddEventListenerOptions,
): Disposable {
  target.addEventListener(type, listener, options);
  return { dispose: () => target.removeEventListener(type, listener, options) };
}
