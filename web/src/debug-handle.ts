import type { DesktopHandle } from './desktop/desktop';

/**
 * Publishes the desktop's read-only handle as `window.ctos`: connection state, open
 * terminals and their text, message ids and the unread count. For support ("what does
 * the page think?") and for the end-to-end tests; it can change nothing.
 */
export function publishHandle(handle: DesktopHandle): void {
  Object.defineProperty(window, 'ctos', { value: handle, configurable: false, writable: false, enumerable: false });
}
