import { errors, jwtVerify } from 'jose';
import { isWellFormedText, ServiceError } from '@ctos/protocol';

/** What a token must satisfy, beyond its HS256 signature. */
export interface TokenPolicy {
  secret: Uint8Array;
  issuer?: string;
  audience?: string;
}

/** Encodes an HS256 secret as jose expects it. */
export function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/**
 * Verifies a handshake token and returns its user id (`sub`). Only HS256 is accepted,
 * so `alg: none` and algorithm-confusion tokens fail.
 * @throws ServiceError `UNAUTHORIZED` with a message that says what to do.
 */
export async function verifyUserToken(token: unknown, policy: TokenPolicy): Promise<string> {
  if (typeof token !== 'string' || token.length === 0) {
    throw new ServiceError('UNAUTHORIZED', 'Sign in first: no token was sent (auth.token).');
  }
  try {
    const { payload } = await jwtVerify(token, policy.secret, {
      algorithms: ['HS256'],
      // A token that never expires is a password that cannot be revoked: refuse it.
      requiredClaims: ['exp', 'sub'],
      ...(policy.issuer ? { issuer: policy.issuer } : {}),
      ...(policy.audience ? { audience: policy.audience } : {}),
    });
    if (
      typeof payload.sub !== 'string' ||
      payload.sub.length === 0 ||
      payload.sub.length > 128 ||
      !isWellFormedText(payload.sub)
    ) {
      throw new ServiceError('UNAUTHORIZED', 'The token names no user (sub); sign in again.');
    }
    return payload.sub;
  } catch (error) {
    if (error instanceof ServiceError) throw error;
    if (error instanceof errors.JWTExpired) {
      throw new ServiceError('UNAUTHORIZED', 'Your session has expired; sign in again.');
    }
    throw new ServiceError('UNAUTHORIZED', 'The token is not valid here; sign in again.');
  }
}
