import type { IncomingMessage } from 'node:http';

/**
 * Decides whether a handshake may proceed, by its `Origin` header. CORS does not protect
 * a WebSocket handshake, so the gateway's handshake checks this for every transport and
 * refuses with `FORBIDDEN`. No Origin (a non-browser client) is allowed: browsers always
 * send one cross-origin. With an empty allow-list only the page's own origin passes
 * (its host and port equal to the `Host` header's).
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
