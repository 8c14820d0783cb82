import { randomBytes } from 'node:crypto';
import express, { type Express } from 'express';
import { SignJWT } from 'jose';

/** A login code is good for this long (ms) — long enough to open the URL after start-up. */
const LOGIN_CODE_TTL_MS = 24 * 60 * 60 * 1000;

/** Options of {@link createLoginCodes}. */
export interface LoginOptions {
  secret: string;
  user: string;
  tokenTtlSeconds: number;
  issuer?: string;
  audience?: string;
}

/**
 * One-time login codes, like a notebook server's tokened URL: the launcher prints a URL
 * with a code; the page trades it once at `POST /auth/login {code}` for a JWT.
 * A used or unknown code answers 401 `{code:"UNAUTHORIZED", error}`.
 */
export function createLoginCodes(options: LoginOptions): { issue(): string; mount(app: Express): void } {
  const codes = new Map<string, number>();
  const key = new TextEncoder().encode(options.secret);
  return {
    issue() {
      const code = randomBytes(24).toString('base64url');
      codes.set(code, Date.now() + LOGIN_CODE_TTL_MS);
      return code;
    },
    mount(app) {
      app.post('/auth/login', express.json({ limit: '1kb' }), async (req, res) => {
        const code = (req.body as { code?: unknown } | undefined)?.code;
        const expires = typeof code === 'string' ? codes.get(code) : undefined;
        if (typeof code !== 'string' || expires === undefined || expires < Date.now()) {
          res.status(401).json({
            code: 'UNAUTHORIZED',
            error: 'This login link was already used or has expired. Restart the server or ask it for a new link.',
          });
          return;
        }
        codes.delete(code);
        let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(options.user).setIssuedAt();
        jwt = jwt.setExpirationTime(`${options.tokenTtlSeconds}s`);
        if (options.issuer) jwt = jwt.setIssuer(options.issuer);
        if (options.audience) jwt = jwt.setAudience(options.audience);
        res.json({ token: await jwt.sign(key), user: options.user, expires_in: options.tokenTtlSeconds });
      });
    },
  };
}
