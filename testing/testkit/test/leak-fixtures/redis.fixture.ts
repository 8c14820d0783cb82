import { Redis } from 'ioredis';

it('leaves a Redis connection open', async () => {
  const redis = new Redis(process.env.LEAK_FIXTURE_REDIS_URL ?? 'redis://127.0.0.1:6379');
  await redis.ping();
});
