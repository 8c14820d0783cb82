/**
 * @packageDocumentation
 * The ChingTech OS web desktop: terminal windows, the AI assistant and the message
 * centre over one Socket.IO connection to the page's own origin.
 *
 * ## Signing in
 * - **Embedded mode** (`npm start`) prints `http://127.0.0.1:PORT/?login=<code>`. The page
 *   trades the one-time code at `POST /auth/login {code}` for a token, removes the code
 *   from the address bar and keeps the token in `localStorage['ctos.token']`, so reloads
 *   stay signed in until the token expires (`EMBEDDED_TOKEN_TTL_S`, 12 h by default).
 * - **Behind a host application** (distributed mode), the host issues an HS256 JWT whose
 *   `sub` is the user id, signed with the gateways' `AUTH_JWT_SECRET` (and carrying
 *   `AUTH_JWT_ISSUER` / `AUTH_JWT_AUDIENCE` when those are set), and hands it to the page
 *   in one of these ways, checked in this order:
 *   1. `window.CTOS_TOKEN_PROVIDER = () => token | Promise<token>`: called at start-up and
 *      again whenever the server refuses the token (expired), so short-lived tokens renew
 *      without a reload;
 *   2. `window.CTOS_TOKEN = '<jwt>'`;
 *   3. `localStorage['ctos.token'] = '<jwt>'` written by a page of the same origin.
 *   The page's Content-Security-Policy forbids inline scripts, so 1 and 2 must come from a
 *   script *file* of the same origin loaded before the page's module, e.g.
 *   `<script src="/host-auth.js"></script>` added to `index.html`.
 * - A missing, expired or rejected token shows a sign-in card with the reason (the
 *   server's `connect_error` with `data.code === 'UNAUTHORIZED'`); nothing retries with a
 *   token the server refused.
 */
import { Desktop } from './desktop/desktop';
import { signInCard } from './desktop/sign-in';
import { publishHandle } from './debug-handle';
import { forgetToken, obtainCredentials, renewToken, SignInError } from './shell/auth';
import { ConnectionMonitor } from './shell/connection-monitor';
import { connectSocket } from './shell/socket-client';
import './styles/base.css';
import './styles/desktop.css';
import './styles/terminal.css';
import './styles/assistant.css';
import './styles/messages.css';

/** First wait before retrying a handshake the server refused for a reason other than the token (ms). */
const REFUSED_RETRY_MS = 2000;
/** Longest wait between such retries (ms). */
const REFUSED_RETRY_MAX_MS = 30_000;

/** The shape of a handshake refusal's `data` (the gateway's `{code, error}`). */
interface RefusalData {
  code?: string;
  error?: string;
}

async function start(): Promise<void> {
  const root = document.getElementById('app');
  if (!root) return;
  let credentials;
  try {
    credentials = await obtainCredentials();
  } catch (error) {
    root.replaceChildren(signInCard(error instanceof SignInError ? error.message : 'Sign-in failed.'));
    return;
  }
  if (!credentials) {
    root.replaceChildren(signInCard('You are not signed in on this browser.'));
    return;
  }
  let token = credentials.token;
  const socket = connectSocket(() => token);
  const monitor = new ConnectionMonitor(socket);
  const desktop = new Desktop(socket, monitor, credentials, () => token);
  root.replaceChildren(desktop.element);
  publishHandle(desktop.handle());

  let refusedDelay = REFUSED_RETRY_MS;
  socket.on('connect', () => (refusedDelay = REFUSED_RETRY_MS));
  socket.on('connect_error', (error) => {
    const data = (error as Error & { data?: RefusalData }).data;
    if (data?.code === 'UNAUTHORIZED') {
      void renewToken(token).then((renewed) => {
        if (renewed) {
          token = renewed;
          socket.connect();
          return;
        }
        forgetToken();
        const reason = data.error ?? 'Your session has ended.';
        monitor.signedOut(reason);
        desktop.signedOut(reason);
      });
      return;
    }
    monitor.attemptFailed();
    if (data?.code) {
      // Refused by the server for another reason (full, origin): Socket.IO does not retry these itself.
      const delay = refusedDelay * (0.5 + Math.random());
      refusedDelay = Math.min(refusedDelay * 2, REFUSED_RETRY_MAX_MS);
      setTimeout(() => {
        if (!socket.connected && monitor.status.phase !== 'signed-out') socket.connect();
      }, delay);
    }
  });
}

void start();
