import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function randomBase62(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  // The modulo bias is irrelevant: these ids only have to look like, and be as unique as, the real ones.
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

/** A message id shaped like the API's (`msg_01` followed by 22 base62 characters). */
export function newMessageId(): string {
  return `msg_01${randomBase62(22)}`;
}

/** A request id shaped like the API's `request-id` header (`req_011C` followed by 20 base62 characters). */
export function newRequestId(): string {
  return `req_011C${randomBase62(20)}`;
}

/** A tool use id shaped like the API's (`toolu_01` followed by 22 base62 characters). */
export function newToolUseId(): string {
  return `toolu_01${randomBase62(22)}`;
}
