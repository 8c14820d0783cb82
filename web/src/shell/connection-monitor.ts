import { DisposableStore, type Disposable } from '@ctos/protocol';
import { addDisposableListener } from '../dom-listener';
import type { AppSocket } from './socket-client';

/**
 * What the connection indicator shows:
 * - `connecting`: the first attempt is under way;
 * - `connected`: the socket is up;
 * - `reconnecting`: it dropped and is being retried (with backoff, for ever);
 * - `offline`: the browser reports no network, retries continue in the background;
 * - `signed-out`: the server refused the token; nothing is retried until sign-in.
 */
export type ConnectionPhase = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'signed-out';

/** The indicator's state. */
export interface ConnectionStatus {
  phase: ConnectionPhase;
  /** Reconnect attempts since the connection was lost (0 while connected). */
  attempt: number;
  /** When the connection was lost (ms since epoch), if it is. */
  lostAt?: number;
  /** A sentence for people (the server's words for `signed-out`). */
  detail?: string;
}

/** The server closed this socket on purpose (a drain or a kick); Socket.IO does not retry those by itself. */
const SERVER_DISCONNECT = 'io server disconnect';
/** Wait before reconnecting after a server-side close (ms), so a draining gateway is gone first. */
const SERVER_DISCONNECT_RETRY_MS = 300;

/**
 * Follows the socket and the browser's network state and tells listeners what to show.
 * It also reconnects after a server-side close, which Socket.IO leaves to the app.
 */
export class ConnectionMonitor {
  private current: ConnectionStatus = { phase: 'connecting', attempt: 0 };
  private readonly listeners = new Set<(status: ConnectionStatus) => void>();
  /** The socket and browser listeners and the retry timer, released by {@link dispose}. */
  private readonly owned = new DisposableStore();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly socket: AppSocket) {
    const onConnect = (): void => this.set({ phase: 'connected', attempt: 0 });
    const onDisconnect = (reason: string): void => {
      if (this.current.phase === 'signed-out') return;
      this.set({ phase: this.networkPhase(), attempt: 0, lostAt: Date.now() });
      if (reason === SERVER_DISCONNECT) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => socket.connect(), SERVER_DISCONNECT_RETRY_MS);
      }
    };
    const onAttempt = (attempt: number): void => {
      if (this.current.phase === 'signed-out' || this.current.phase === 'connected') return;
      this.set({ ...this.current, phase: this.networkPhase(), attempt });
    };
    const onNetwork = (): void => {
      if (this.current.phase === 'reconnecting' || this.current.phase === 'offline') {
        this.set({ ...this.current, phase: this.networkPhase() });
      }
    };
    socket.on('connect', onConnect);
    socket.on('disconnect', onDisconnect);
    socket.io.on('reconnect_attempt', onAttempt);
    const owned = this.owned;
    owned.defer(() => void socket.off('connect', onConnect));
    owned.defer(() => void socket.off('disconnect', onDisconnect));
    owned.defer(() => void socket.io.off('reconnect_attempt', onAttempt));
    owned.add(addDisposableListener(window, 'online', onNetwork));
    owned.add(addDisposableListener(window, 'offline', onNetwork));
    owned.defer(() => clearTimeout(this.retryTimer));
  }

  /** The state now. */
  get status(): ConnectionStatus {
    return this.current;
  }

  /** Calls `listener` now and on every change, until the returned disposable is disposed. */
  subscribe(listener: (status: ConnectionStatus) => void): Disposable {
    this.listeners.add(listener);
    listener(this.current);
    return { dispose: () => void this.listeners.delete(listener) };
  }

  /** The server refused the token: stop retrying and say so. */
  signedOut(detail: string): void {
    this.socket.disconnect();
    this.set({ phase: 'signed-out', attempt: 0, detail });
  }

  /** A failed attempt that is not an authentication refusal. */
  attemptFailed(): void {
    if (this.current.phase === 'connecting' || this.current.phase === 'connected') {
      this.set({ phase: this.networkPhase(), attempt: 1, lostAt: Date.now() });
    }
  }

  /** Stops following the socket and the network, and forgets every listener. */
  dispose(): void {
    void this.owned.dispose();
    this.listeners.clear();
  }

  private networkPhase(): ConnectionPhase {
    return navigator.onLine ? 'reconnecting' : 'offline';
  }

  private set(status: ConnectionStatus): void {
    this.current = status;
    for (const listener of this.listeners) listener(status);
  }
}
