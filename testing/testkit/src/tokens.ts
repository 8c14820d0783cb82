import { SignJWT } from 'jose';

/** A secret of the right length for tests. */
export const TEST_JWT_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** Options of {@link signToken}. */
export interface TokenOptions {
  secret?: string;
  /** `exp` as a jose time span (`'1h'`) or epoch seconds. */
  expiresIn?: string | number;
  issuer?: string;
  audience?: string;
}

/** An HS256 token for user `sub`, as a host application would issue it. */
export async function signToken(sub: string, options: TokenOptions = {}): Promise<string> {
  let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt();
  jwt = jwt.setExpirationTime(options.expiresIn ?? '1h');
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}
