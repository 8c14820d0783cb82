import { createLogger } from '@ctos/runtime';
import { type OwnRedis, startOwnRedis, uniquePrefix, waitFor } from '@ctos/testkit';
import { createRedisTransport, type Transport } from '@ctos/transport';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { createMessageWorker, loadMessageWorkerConfig, type MessageWorker } from '../src';
import { API_TOKEN, draft } from './harness';

describe('the message-worker when Redis goes away', () => {
  let redis: OwnRedis;
  let transport: Transport;
  let worker: MessageWorker;
  let api: string;

  beforeAll(async () => {
    redis = await startOwnRedis();
    transport = createRedisTransport({
      redis: { url: redis.url },
      prefix: uniquePrefix('outage'),
      id: 'message-outage',
    });
    worker = createMessageWorker({
      id: 'message-outage',
      transport,
      config: loadMessageWorkerConfig({ MESSAGE_API_TOKENS: API_TOKEN }),
      logger: createLogger({ service: 'message-worker', level: 'silent' }),
      metrics: new Registry(),
    });
    worker.start();
    api = `http://127.0.0.1:${await worker.listen(0, '127.0.0.1')}/messages`;
  });
  afterAll(async () => {
    await worker.drain();
    await transport.dispose();
    await redis.stop();
  });

  const post = (title: string) =>
    fetch(api, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify(draft('alice', title)),
    });

  it('answers producers 503 UNAVAILABLE with Retry-After while Redis is down, and 201 once it is back', async () => {
    expect((await post('before')).status).toBe(201);
    redis.signal('SIGKILL');
    await waitFor(() => !transport.healthy(), { message: 'the transport to notice Redis is gone' });
    const during = await post('during');
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('1');
    expect(await during.json()).toMatchObject({ code: 'UNAVAILABLE' });
    await redis.restart();
    await waitFor(async () => (await post('after')).status === 201, { message: 'a 201 after Redis is back' });
  });

  it('answers 503 UNAVAILABLE while Redis refuses writes for want of replicas (min-replicas-to-write), 201 after', async () => {
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'min-replicas-to-write', '1');
      const refused = await post('no replica');
      expect([refused.status, await refused.json()]).toEqual([503, expect.objectContaining({ code: 'UNAVAILABLE' })]);
      await admin.config('SET', 'min-replicas-to-write', '0');
      expect((await post('replicas enough')).status).toBe(201);
    } finally {
      admin.disconnect();
    }
  });
});
