import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

it('releases everything it started', async () => {
  const timer = setTimeout(() => undefined, 60_000);
  clearTimeout(timer);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise((resolve) => server.close(resolve));
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  const redis = new Redis(process.env.LEAK_FIXTURE_REDIS_URL ?? 'redis://127.0.0.1:6379');
  await redis.ping();
  await redis.quit();
});
