/**
 * Issue 10, abuse: the limits that keep one user or producer from starving the rest,
 * each refusing with its code while a second user or producer goes on undisturbed. (The
 * per-user connection limit, the terminal input rate and the 10,000-event fuzz are in
 * services/gateway/test: limits.test.ts and fuzz.test.ts.) Embedded mode with small
 * limits, so each is quick to reach.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { startStandin, type Standin } from '@ctos/anthropic-standin';
import { createLogger } from '@ctos/runtime';
import { connectClient, signToken, TEST_JWT_SECRET, waitFor, type ClientSocket } from '@ctos/testkit';
import { startEmbedded, type Embedded } from '../src/embedded';

/** Two producers, each with its own token. */
const TOKENS = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];

describe('limits under abuse', () => {
  let system: Embedded;
  let standin: Standin;
  const sockets: ClientSocket[] = [];

  const connect = async (user: string, localAddress?: string): Promise<ClientSocket> => {
    // socket.io-client passes `localAddress` on to the WebSocket; its types do not list it.
    const options = (localAddress ? { localAddress } : {}) as Parameters<typeof connectClient>[2];
    const socket = await connectClient(system.url, await signToken(user), options);
    sockets.push(socket);
    return socket;
  };
  const post = (token: string, title: string) =>
    fetch(`${system.messageApi.url}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ user_id: 'reader', source: 'limits-test', title }),
    });

  beforeAll(async () => {
    standin = await startStandin({ script: () => ({ text: 'fine thanks', deltaIntervalMs: 1, firstDeltaDelayMs: 0 }) });
    system = await startEmbedded({
      env: {
        PORT: '0',
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        WEB_DIST_DIR: '/nonexistent',
        ANTHROPIC_BASE_URL: standin.url,
        ANTHROPIC_API_KEY: 'stand-in',
        MESSAGE_API_TOKENS: TOKENS.join(','),
        MESSAGE_API_REQUESTS_PER_SECOND: '2',
        MESSAGE_API_BURST: '3',
        AI_MESSAGES_PER_MINUTE: '2',
        GATEWAY_MAX_SOCKETS_PER_ADDRESS: '3',
      },
      logger: (service) => createLogger({ service, level: 'silent' }),
    });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await system?.stop();
    await standin?.close();
  });

  it('answers a producer past its request rate 429 RATE_LIMITED with Retry-After, while another producer posts on', async () => {
    const flood = await Promise.all(Array.from({ length: 6 }, (_, i) => post(TOKENS[0]!, `flood-${i}`)));
    const statuses = flood.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 429, 429, 429]);
    const refused = flood.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ code: 'RATE_LIMITED' });

    // The other producer is not held back by the first one's flood.
    expect((await post(TOKENS[1]!, 'calm')).status).toBe(201);
    // And the first gets through again once its budget refills.
    await waitFor(async () => (await post(TOKENS[0]!, 'later')).status === 201, {
      timeoutMs: 3000,
      intervalMs: 250,
      message: 'the flooding producer to be served again',
    });
  });

  it('answers a user past AI_MESSAGES_PER_MINUTE RATE_LIMITED while another user’s reply streams', async () => {
    const greedy = await connect('greedy');
    const calm = await connect('calm');
    const send = (socket: ClientSocket) =>
      socket.timeout(5000).emitWithAck('ai:message', { conversation_id: randomUUID(), content: 'hello' });
    const answers = [await send(greedy), await send(greedy), await send(greedy)];
    expect(answers.map((a) => (a.success ? 'ok' : a.code))).toEqual(['ok', 'ok', 'RATE_LIMITED']);
    const ended = new Promise<string>((resolve) => calm.once('ai:stream:end', (event) => resolve(event.stop_reason)));
    expect((await send(calm)).success).toBe(true);
    await expect(ended).resolves.toBe('end_turn');
  });

  it('refuses an address past its connections with LIMIT_EXCEEDED, and not another address', async () => {
    for (let i = 0; i < 3; i++) await connect(`crowd-${i}`, '127.0.0.2');
    const refused = await connect('crowd-more', '127.0.0.2').catch((error: { data?: { code?: string } }) => error);
    expect((refused as { data?: { code?: string } }).data?.code).toBe('LIMIT_EXCEEDED');
    await expect(connect('elsewhere', '127.0.0.3')).resolves.toMatchObject({ connected: true });
  });
});
