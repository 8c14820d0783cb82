/** Link schemes that may become a clickable link; anything else (javascript:, data:…) stays text. */
const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/**
 * Returns `raw` as an absolute http(s)/mailto URL, or undefined when it is anything
 * else (a relative path, `javascript:`, `data:`…).
 */
export function safeHref(raw: string): string | undefined {
  try {
    const url = new URL(raw.trim());
    return SAFE_SCHEMES.has(url.protocol) ? url.href : undefined;
  } catch {
    return undefined; // not an absolute URL: shown as text
  }
}
