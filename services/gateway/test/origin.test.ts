import { startEmbedded, type Embedded } from '@ctos/launcher';
import { createLogger } from '@ctos/runtime';
import { connectClient, signToken, TEST_JWT_SECRET, waitFor } from '@ctos/testkit';
import { WebSocket } from 'ws';

const quiet = (service: string) => createLogger({ service, level: 'silent' });

/** Both transports: a page on websocket, and one that fell back to polling. */
const TRANSPORTS = ['websocket', 'polling'] as const;
type TransportName = (typeof TRANSPORTS)[number];

/** A page of another site. */
const FOREIGN = 'https://evil.example';

/** What a connection attempt ended with: connected, or the refusal's code and the client's message. */
type Outcome = { connected: true } | { connected: false; code?: string; error?: string; message: string };

/** Connects as a browser page of `origin` would (no Origin at all: a non-browser client) and closes again. */
async function attempt(url: string, origin: string | undefined, transport: TransportName, token?: string) {
  try {
    const socket = await connectClient(url, token ?? (await signToken('alice')), {
      transports: [transport],
      ...(origin === undefined ? {} : { extraHeaders: { origin } }),
    });
    socket.close();
    return { connected: true } satisfies Outcome;
  } catch (error) {
    const e = error as Error & { data?: { code?: string; error?: string } };
    return { connected: false, ...e.data, message: e.message } satisfies Outcome;
  }
}

/** The number of handshakes refused for their origin, from the gateway's /metrics. */
async function originRefusals(system: Embedded): Promise<number> {
  const text = await (await fetch(`${system.url}/metrics`)).text();
  const line = /^ctos_gateway_handshake_refusals_total\{[^}]*\breason="origin"[^}]*\} (\d+)$/m.exec(text);
  return line ? Number(line[1]) : 0;
}

describe('an allow-list of origins (ALLOWED_ORIGINS)', () => {
  let system: Embedded;

  beforeAll(async () => {
    system = await startEmbedded({
      env: {
        PORT: '0',
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        ALLOWED_ORIGINS: 'https://os.example.com,https://admin.example.com',
        WEB_DIST_DIR: '/nonexistent',
      },
      logger: quiet,
    });
  });
  afterAll(() => system.stop());

  it.each(TRANSPORTS)(
    'refuses an origin outside the list with connect_error code FORBIDDEN (%s)',
    async (transport) => {
      const before = await originRefusals(system);
      const outcome = await attempt(system.url, FOREIGN, transport);
      expect(outcome).toMatchObject({ connected: false, code: 'FORBIDDEN', error: expect.stringMatching(/origin/i) });
      await expect(originRefusals(system)).resolves.toBe(before + 1);
    },
  );

  it('refuses the origin before it looks at the token', async () => {
    await expect(attempt(system.url, FOREIGN, 'websocket', 'not.a.jwt')).resolves.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it.each(TRANSPORTS)('accepts each origin on the list (%s)', async (transport) => {
    await expect(attempt(system.url, 'https://os.example.com', transport)).resolves.toEqual({ connected: true });
    await expect(attempt(system.url, 'https://admin.example.com', transport)).resolves.toEqual({ connected: true });
  });

  it('accepts a client that sends no Origin (not a browser)', async () => {
    await expect(attempt(system.url, undefined, 'websocket')).resolves.toEqual({ connected: true });
  });
});

describe('the default: the page’s own origin only (ALLOWED_ORIGINS empty)', () => {
  let system: Embedded;

  beforeAll(async () => {
    system = await startEmbedded({
      env: { PORT: '0', AUTH_JWT_SECRET: TEST_JWT_SECRET, WEB_DIST_DIR: '/nonexistent' },
      logger: quiet,
    });
  });
  afterAll(() => system.stop());

  it.each(TRANSPORTS.flatMap((transport) => [FOREIGN, 'http://127.0.0.1:1', 'null'].map((o) => [o, transport])))(
    'refuses the origin %s with connect_error code FORBIDDEN (%s)',
    async (origin, transport) => {
      await expect(attempt(system.url, origin, transport as TransportName)).resolves.toMatchObject({
        connected: false,
        code: 'FORBIDDEN',
      });
    },
  );

  it.each(TRANSPORTS)('accepts the page’s own origin (%s)', async (transport) => {
    await expect(attempt(system.url, new URL(system.url).origin, transport)).resolves.toEqual({ connected: true });
  });

  it('accepts a client that sends no Origin (not a browser)', async () => {
    await expect(attempt(system.url, undefined, 'polling')).resolves.toEqual({ connected: true });
  });

  it('gives a page of another origin no CORS grant, so it cannot read a polling response', async () => {
    const handshake = await fetch(`${system.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: FOREIGN } });
    await handshake.text();
    expect(handshake.headers.get('access-control-allow-origin')).toBeNull();
    expect(handshake.headers.get('access-control-allow-credentials')).toBeNull();
    const preflight = await fetch(`${system.url}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { origin: FOREIGN, 'access-control-request-method': 'POST' },
    });
    await preflight.text();
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('closes the connection of a refused origin once the refusal is sent, even if the page keeps it', async () => {
    // A raw Engine.IO client, as a hostile page would hold it: it never closes by itself.
    const url = `${system.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(url, { headers: { origin: FOREIGN } });
    const received: string[] = [];
    let closed = false;
    ws.on('message', (data) => {
      const text = String(data);
      received.push(text);
      if (text.startsWith('0')) ws.send('40{}'); // Engine.IO open: ask for the default namespace
    });
    ws.on('close', () => (closed = true));
    ws.on('error', (error) => received.push(`error: ${error.message}`));
    try {
      await waitFor(() => closed, { message: 'the gateway to close the refused connection' });
    } finally {
      ws.terminate();
    }
    // Socket.IO's CONNECT_ERROR packet (`44`), then the close.
    expect(received).toEqual([expect.stringMatching(/^0/), expect.stringMatching(/^44/)]);
    expect(JSON.parse(received[1]!.slice(2))).toMatchObject({ data: { code: 'FORBIDDEN' } });
  });
});
