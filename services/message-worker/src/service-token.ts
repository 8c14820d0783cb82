import { createHash, timingSafeEqual } from 'node:crypto';

/** A fixed-length fingerprint, so tokens of any length compare in constant time. */
function fingerprint(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Checks `Authorization: Bearer <token>` headers against the configured service tokens
 * (several during a rotation). Every token is compared, in constant time, whether or not
 * an earlier one matched, so timing says nothing about which or how much matched.
 */
export function serviceTokenChecker(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  const expected = tokens.map(fingerprint);
  return (authorization) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) return false;
    const given = fingerprint(match[1]);
    let ok = false;
    for (const token of expected) ok = timingSafeEqual(given, token) || ok;
    return ok;
  };
}
