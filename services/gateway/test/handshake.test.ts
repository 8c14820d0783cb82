import { startEmbedded, type Embedded } from '@ctos/launcher';
import { createLogger } from '@ctos/runtime';
import { connectClient, signToken, TEST_JWT_SECRET } from '@ctos/testkit';
import { SignJWT } from 'jose';

const quiet = (service: string) => createLogger({ service, level: 'silent' });

/** Reads the code a refused handshake carries. */
async function refusalOf(promise: Promise<unknown>): Promise<{ code?: string; error?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { data?: { code?: string; error?: string } };
    return { ...e.data, message: e.message };
  }
  throw new Error('the handshake was accepted');
}

describe('the handshake', () => {
  let system: Embedded;

  beforeAll(async () => {
    system = await startEmbedded({
      env: {
        PORT: '0',
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        AUTH_JWT_AUDIENCE: 'ctos',
        AUTH_JWT_ISSUER: 'chingtech-os',
        ALLOWED_ORIGINS: 'https://os.example.com',
        WEB_DIST_DIR: '/nonexistent',
      },
      logger: quiet,
    });
  });
  afterAll(() => system.stop());

  const valid = () => signToken('alice', { audience: 'ctos', issuer: 'chingtech-os' });

  it('accepts a token signed with the secret, for the right audience and issuer', async () => {
    const socket = await connectClient(system.url, await valid());
    expect(socket.connected).toBe(true);
    socket.close();
  });

  it.each([
    ['no token', async () => undefined],
    ['a bad signature', () => signToken('alice', { audience: 'ctos', issuer: 'chingtech-os', secret: 'x'.repeat(48) })],
    [
      'an expired token',
      () =>
        signToken('alice', { audience: 'ctos', issuer: 'chingtech-os', expiresIn: Math.floor(Date.now() / 1000) - 60 }),
    ],
    ['a wrong audience', () => signToken('alice', { audience: 'someone-else', issuer: 'chingtech-os' })],
    ['a wrong issuer', () => signToken('alice', { audience: 'ctos', issuer: 'mallory' })],
    ['garbage', async () => 'not.a.jwt'],
    [
      'alg: none',
      async () => {
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        const body = Buffer.from(JSON.stringify({ sub: 'alice', aud: 'ctos', iss: 'chingtech-os', exp: 9e9 })).toString(
          'base64url',
        );
        return `${header}.${body}.`;
      },
    ],
    [
      'an HS512 token (another algorithm)',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS512' })
          .setSubject('alice')
          .setAudience('ctos')
          .setIssuer('chingtech-os')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
    ],
  ])('refuses %s with connect_error code UNAUTHORIZED', async (_name, token) => {
    const refusal = await refusalOf(connectClient(system.url, await token()));
    expect(refusal.code).toBe('UNAUTHORIZED');
    expect(refusal.error).toMatch(/sign in|token/i);
  });
});

describe('identities that cannot be stored', () => {
  let system: Embedded;
  beforeAll(async () => {
    system = await startEmbedded({
      env: { PORT: '0', AUTH_JWT_SECRET: TEST_JWT_SECRET, WEB_DIST_DIR: '/nonexistent' },
      logger: quiet,
    });
  });
  afterAll(() => system.stop());

  it('refuses a token without an expiry, and one whose user id has an unpaired surrogate', async () => {
    const key = new TextEncoder().encode(TEST_JWT_SECRET);
    const forever = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(key);
    await expect(refusalOf(connectClient(system.url, forever))).resolves.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(refusalOf(connectClient(system.url, await signToken('x\ud800y')))).resolves.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });

  it('answers INVALID_PAYLOAD, not INTERNAL, for ids with an unpaired surrogate', async () => {
    const socket = await connectClient(system.url, await signToken('alice'));
    const answers = [
      await socket.emitWithAck('ai:history', { conversation_id: '\ud83d' }),
      await socket.emitWithAck('ai:message', { conversation_id: 'a\udc00', content: 'hi' }),
      await socket.emitWithAck('terminal:attach', { session_id: '\ud83d' }),
    ];
    for (const answer of answers) expect(answer).toMatchObject({ success: false, code: 'INVALID_PAYLOAD' });
    socket.close();
  });
});
