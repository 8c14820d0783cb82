import { createHash, timingSafeEqual } from 'node:crypto';

/** A fixed-length fingerprint, so tokens of any length compare in constant time. */
function fingerprint(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Checks `Authorization: Bearer <token>` headers against the configured service tokens
 * (several during a rotation) and says which one matched: its position in `tokens`, or
 * -1 for none (the position names the producer for rate limits, never the token itself).
 * Every token is compared, in constant time, whether or not an earlier one matched, so
 * timing says nothing about which or how much matched.
 */
export function serviceTokenChecker(tokens: readonly string[]): (authorization: string | undefined) => number {
  const expected = tokens.map(fingerprint);
  return (authorization) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) return -1;
    const given = fingerprint(match[1]);
    let found = -1;
    for (const [i, token] of expected.entries()) if (timingSafeEqual(given, token) && found < 0) found = i;
    return found;
  };
}
