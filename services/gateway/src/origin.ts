import type { IncomingMessage } from 'node:http';

/**
 * Decides whether a handshake may proceed, by its `Origin` header. Socket.IO's `cors`
 * option does not protect a WebSocket handshake, so this runs in `allowRequest`.
 * No Origin (a non-browser client) is allowed: browsers always send one cross-origin.
 * With an empty allow-list only the page's own origin passes.
 */
export function isOriginAllowed(request: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  if (allowed.length > 0) return false;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false; // "null" or garbage
  }
}
