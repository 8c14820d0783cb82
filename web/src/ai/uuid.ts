/** The version (4) and variant (RFC 4122) bits of a random uuid. */
const VERSION_4 = 0x40;
const VARIANT_RFC4122 = 0x80;

/**
 * A random (v4) uuid for a new conversation. `crypto.randomUUID` exists only in secure
 * contexts; a page served over plain http on a LAN address builds one from
 * `crypto.getRandomValues`, which is available everywhere.
 */
export function newUuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | VERSION_4;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | VARIANT_RFC4122;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
