/** Where the page keeps its token between reloads. */
const TOKEN_KEY = 'ctos.token';

/**
 * The token to connect with. Embedded mode's login URL carries `?login=<code>`, traded
 * once at `POST /auth/login`; a host application may instead set
 * `window.CTOS_TOKEN` or store a token under `localStorage['ctos.token']` before this
 * page loads.
 */
export async function obtainToken(): Promise<string | undefined> {
  const url = new URL(window.location.href);
  const code = url.searchParams.get('login');
  if (code) {
    url.searchParams.delete('login');
    window.history.replaceState(null, '', url.toString());
    const response = await fetch('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    const body = (await response.json()) as { token?: string; error?: string };
    if (!response.ok || !body.token) throw new Error(body.error ?? 'Sign-in failed.');
    localStorage.setItem(TOKEN_KEY, body.token);
    return body.token;
  }
  const given = (window as unknown as { CTOS_TOKEN?: unknown }).CTOS_TOKEN;
  if (typeof given === 'string' && given) return given;
  return localStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Forgets a token the server refused. */
export function forgetToken(): void {
  localStorage.removeItem(TOKEN_KEY);
}
