import { startOwnRedis, uniquePrefix, type OwnRedis } from '@ctos/testkit';
import { createRedisTransport, withRedisPassword } from '@ctos/transport';
import { Redis } from 'ioredis';

/** Characters a URL must escape, so the round trip through `redis://` is really tested. */
const PASSWORD = 'p@ss:w/rd%41#é';

describe('REDIS_PASSWORD', () => {
  let redis: OwnRedis;

  beforeAll(async () => {
    redis = await startOwnRedis({ password: PASSWORD });
  });
  afterAll(() => redis.stop());

  it('replaces the password of a URL, keeping its user and database, as ioredis reads it back', () => {
    const client = new Redis(withRedisPassword('redis://ops:old@redis:6379/2', PASSWORD), { lazyConnect: true });
    expect([client.options.username, client.options.password, client.options.db]).toEqual(['ops', PASSWORD, 2]);
  });

  it('is what a transport authenticates with, in place of a wrong one in the URL', async () => {
    const transport = createRedisTransport({
      redis: { url: `redis://:wrong@127.0.0.1:${redis.port}`, password: PASSWORD },
      prefix: uniquePrefix('redis-password'),
      id: 'redis-password-test',
    });
    try {
      await transport.store.set('greeting', 'hello');
      expect(await transport.store.get('greeting')).toBe('hello');
    } finally {
      await transport.dispose();
    }
  });

  it('is needed: this Redis refuses a client without it', async () => {
    // RESP2 and no ready check: the command itself is what Redis refuses.
    const client = new Redis(redis.url, {
      protocol: 2,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined); // the refusal is asserted on the command below
    try {
      await expect(client.ping()).rejects.toThrow(/^NOAUTH Authentication required/);
    } finally {
      client.disconnect();
    }
  });
});
