import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Disposable } from '@ctos/protocol';

/**
 * An HTTP server for `handler`, owned until disposed. Disposing stops it taking
 * connections, waits for `finishing` (the requests it has), then closes its idle
 * keep-alive connections (and every connection, when some request outlasted the wait), and resolves once the server has closed.
 */
export class HttpListener implements Disposable {
  private readonly server: Server;

  constructor(
    handler: RequestListener,
    /** Waits for the requests taken; false when some were still running at its bound. */
    private readonly finishing: () => Promise<boolean>,
  ) {
    this.server = createServer(handler);
  }

  /** Listens on `port` (0: any) at `host`; resolves with the port bound, rejects with the server's error (`EADDRINUSE`…). */
  async listen(port: number, host: string): Promise<number> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  async dispose(): Promise<void> {
    // Resolves on an error too: a server that never listened has nothing to close.
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const answered = await this.finishing();
    // Keep-alive connections would hold `close` open; their requests are answered now.
    this.server.closeIdleConnections();
    // Requests still running after the wait (a paused Redis) are cut: their clients retry
    // with the same idempotency key.
    if (!answered) this.server.closeAllConnections();
    await closed;
  }
}
