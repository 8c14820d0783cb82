import {
  deletePrefix,
  freePort,
  SHARED_REDIS_URL,
  startService,
  uniquePrefix,
  type ServiceProcess,
  runServiceToExit,
} from '@ctos/testkit';
import { API_TOKEN } from './harness';

describe('the message-worker process (npx tsc -b first)', () => {
  it('exits with code 2 naming a bad setting', async () => {
    const { code, output } = await runServiceToExit('message-worker', { MESSAGE_RETENTION_COUNT: '0' });
    expect(code).toBe(2);
    expect(output).toMatch(/MESSAGE_RETENTION_COUNT/);
  });

  it('exits with code 2 when it has Redis but no service token', async () => {
    const { code, output } = await runServiceToExit('message-worker', { REDIS_URL: SHARED_REDIS_URL });
    expect(code).toBe(2);
    expect(output).toMatch(/MESSAGE_API_TOKENS: required/);
  });

  describe('with Redis and a token', () => {
    const prefix = uniquePrefix('msgproc');
    let service: ServiceProcess;
    let apiPort: number;

    beforeAll(async () => {
      apiPort = await freePort();
      service = await startService('message-worker', {
        REDIS_URL: SHARED_REDIS_URL,
        REDIS_PREFIX: prefix,
        OPS_PORT: '0',
        MESSAGE_API_PORT: String(apiPort),
        MESSAGE_API_TOKENS: `old-token-that-is-long-enough-0123456789,${API_TOKEN}`,
      });
    });
    afterAll(async () => {
      await service.kill('SIGKILL');
      await deletePrefix(SHARED_REDIS_URL, prefix);
    });

    it('accepts a message from a producer, reports ready, and counts it', async () => {
      const response = await fetch(`http://127.0.0.1:${apiPort}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
        body: JSON.stringify({ user_id: 'alice', source: 'billing', title: 'Invoice ready' }),
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ messages: [{ user_id: 'alice', id: 1, duplicate: false }] });
      const ready = await fetch(`http://127.0.0.1:${service.port}/readyz`);
      expect(ready.status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
      expect(metrics).toMatch(/ctos_messages_published_total\{[^}]*outcome="created"[^}]*\} 1/);
      expect(service.lines.join('\n')).not.toContain('Invoice ready');
    });

    it('drains and exits 0 on SIGTERM', async () => {
      const exited = new Promise<number | null>((resolve) => service.child.once('exit', (code) => resolve(code)));
      service.child.kill('SIGTERM');
      await expect(exited).resolves.toBe(0);
      expect(service.lines.some((line) => line.includes('message worker drained'))).toBe(true);
    });
  });
});
