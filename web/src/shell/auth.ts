/** Where the page keeps its token between reloads (shared by the tabs of one origin). */
export const TOKEN_STORAGE_KEY = 'ctos.token';

/**
 * What a host application may define on `window` before this page's script runs (from a
 * script file of its own origin: the page's Content-Security-Policy allows no inline script).
 */
interface HostGlobals {
  /** A token to connect with. */
  CTOS_TOKEN?: unknown;
  /**
   * Called for a token at start-up and again when the server refuses one (expired): may
   * return the token or a promise of it. Lets a host renew short-lived tokens.
   */
  CTOS_TOKEN_PROVIDER?: unknown;
}

/** A sign-in that cannot proceed, with a sentence a person can act on. */
export class SignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignInError';
  }
}

/** The signed-in identity, as far as the page needs it. */
export interface Credentials {
  token: string;
  /** The user id (the token's `sub`), used only to keep per-user browser storage apart. */
  user: string;
}

function host(): HostGlobals {
  return window as unknown as HostGlobals;
}

/**
 * Reads the `sub` of a JWT without verifying it: the server verifies; the page only
 * needs a name for its own storage keys. Returns `'unknown'` for anything unreadable.
 */
export function tokenSubject(token: string): string {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === 'string' && sub ? sub : 'unknown';
  } catch {
    return 'unknown'; // not a JWT we can read: only storage names depend on it
  }
}

async function tradeLoginCode(code: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
  } catch {
    throw new SignInError('The server could not be reached to sign in. Check that it is running, then reload.');
  }
  let body: { token?: unknown; error?: unknown } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // A non-JSON answer (a proxy's error page): reported below by status.
  }
  if (!response.ok || typeof body.token !== 'string') {
    const said = typeof body.error === 'string' ? body.error : `Sign-in failed (HTTP ${response.status}).`;
    throw new SignInError(said);
  }
  return body.token;
}

async function fromProvider(): Promise<string | undefined> {
  const provider = host().CTOS_TOKEN_PROVIDER;
  if (typeof provider !== 'function') return undefined;
  try {
    const token: unknown = await (provider as () => unknown)();
    return typeof token === 'string' && token ? token : undefined;
  } catch {
    throw new SignInError('The host application could not provide a sign-in token.');
  }
}

/**
 * The token to connect with, in this order: embedded mode's one-time `?login=<code>`
 * (traded once at `POST /auth/login`, then removed from the address bar), the host's
 * `window.CTOS_TOKEN_PROVIDER()`, `window.CTOS_TOKEN`, then `localStorage['ctos.token']`.
 * A traded or provided token is kept in localStorage so a reload stays signed in.
 * @returns undefined when there is none.
 * @throws SignInError when a login code or the provider fails; a used code falls back
 *   to a stored token when there is one.
 */
export async function obtainCredentials(): Promise<Credentials | undefined> {
  const url = new URL(window.location.href);
  const code = url.searchParams.get('login');
  let token: string | undefined;
  if (code) {
    url.searchParams.delete('login');
    window.history.replaceState(null, '', url.toString());
    try {
      token = await tradeLoginCode(code);
    } catch (error) {
      // A reload of a used link: the stored token (if any) still signs this browser in.
      token = localStorage.getItem(TOKEN_STORAGE_KEY) ?? undefined;
      if (!token) throw error;
    }
  }
  token ??= await fromProvider();
  if (!token) {
    const given = host().CTOS_TOKEN;
    if (typeof given === 'string' && given) token = given;
  }
  token ??= localStorage.getItem(TOKEN_STORAGE_KEY) ?? undefined;
  if (!token) return undefined;
  localStorage.setItem(TOKEN_STORAGE_KEY, token);
  return { token, user: tokenSubject(token) };
}

/**
 * After the server refused the token: asks the host's provider for a new one.
 * @returns the new token, or undefined when there is no provider or it gave the same one.
 */
export async function renewToken(refused: string): Promise<string | undefined> {
  const token = await fromProvider().catch(() => undefined);
  if (!token || token === refused) return undefined;
  localStorage.setItem(TOKEN_STORAGE_KEY, token);
  return token;
}

/** Forgets a token the server refused, so a reload does not try it again. */
export function forgetToken(): void {
  localStorage.removeItem(TOKEN_STORAGE_KEY);
}
