import { startStandin, type Standin } from '@ctos/anthropic-standin';
import { aiRoutes, createGateway, loadGatewayConfig, type Gateway } from '@ctos/gateway';
import {
  connectClient,
  SHARED_REDIS_URL,
  signToken,
  startService,
  TEST_JWT_SECRET,
  waitFor,
  type ServiceProcess,
  runServiceToExit,
} from '@ctos/testkit';
import type { Transport } from '@ctos/transport';
import { Registry } from 'prom-client';
import { createAiWorker, loadAiWorkerConfig, type AiWorker } from '../src';
import { API_KEY, history, HEARTBEAT, Listener, newConversation, quiet, send, transportFactory } from './harness';

describe('the ai-worker process (npx tsc -b first)', () => {
  it('exits with code 2 naming a bad setting', async () => {
    const { code, output } = await runServiceToExit('ai-worker', {
      REDIS_URL: SHARED_REDIS_URL,
      AI_STREAM_IDLE_MS: 'soon',
    });
    expect(code).toBe(2);
    expect(output).toMatch(/AI_STREAM_IDLE_MS/);
  });

  it('exits with code 2 without REDIS_URL', async () => {
    const { code, output } = await runServiceToExit('ai-worker', {});
    expect(code).toBe(2);
    expect(output).toMatch(/REDIS_URL: required/);
  });

  describe('killed in the middle of a reply', () => {
    const factory = transportFactory('redis');
    let standin: Standin;
    let service: ServiceProcess;
    let gateway: Gateway;
    let gatewayTransport: Transport;
    let standby: AiWorker | undefined;

    beforeAll(async () => {
      standin = await startStandin({ script: () => ({ text: 'word '.repeat(300), deltaIntervalMs: 30 }) });
      service = await startService('ai-worker', {
        REDIS_URL: SHARED_REDIS_URL,
        REDIS_PREFIX: factory.prefix,
        OPS_PORT: '0',
        ANTHROPIC_API_KEY: API_KEY,
        ANTHROPIC_BASE_URL: standin.url,
        AI_MAX_RETRIES: '0',
        HEARTBEAT_INTERVAL_MS: String(HEARTBEAT.intervalMs),
        HEARTBEAT_MISSED_BEATS: String(HEARTBEAT.missedBeats),
      });
      gatewayTransport = factory.open('gateway-0');
      gateway = createGateway({
        id: 'gateway-0',
        config: loadGatewayConfig({ AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent' }),
        jwtSecret: TEST_JWT_SECRET,
        transport: gatewayTransport,
        logger: quiet('gateway'),
        metrics: new Registry(),
        extraRoutes: [aiRoutes],
      });
      await gateway.listen(0, '127.0.0.1');
      await waitFor(async () => (await gatewayTransport.registry.live('ai')).length === 1);
    });
    afterAll(async () => {
      await service.kill('SIGKILL');
      await gateway.drain();
      await standby?.drain();
      await standin.close();
      await factory.cleanup();
    });

    it('has its reply marked interrupted by the gateway, with a retryable ai:error and the partial text kept', async () => {
      const address = gateway.http.address();
      if (address === null || typeof address === 'string') throw new Error('gateway not listening');
      const socket = await connectClient(`http://127.0.0.1:${address.port}`, await signToken('alice'));
      const heard = new Listener(socket);
      const conversation = newConversation();
      const messageId = await send(socket, conversation, 'Count');
      await heard.waitForChunks(messageId, 5);
      expect(service.lines.join('\n')).not.toContain('Count');

      await service.kill('SIGKILL');
      const error = await heard.waitForError(messageId);
      expect(error).toMatchObject({ conversation_id: conversation, code: 'UNAVAILABLE', retryable: true });
      expect((await standin.waitForClose(0, 1000)).outcome).toBe('client-closed');

      // History and the next message need a live ai-worker: one takes over in this process.
      const config = loadAiWorkerConfig({ ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: standin.url });
      standby = createAiWorker({
        id: 'ai-standby',
        transport: factory.open('ai-standby'),
        config,
        logger: quiet('ai'),
        metrics: new Registry(),
      });
      standby.start();
      await waitFor(async () => (await gatewayTransport.registry.live('ai')).length === 1);
      const [, reply] = await history(socket, conversation);
      const heardText = heard.text(messageId);
      expect(heardText.length).toBeGreaterThan(0);
      expect(reply).toMatchObject({ message_id: messageId, status: 'interrupted', stop_reason: 'interrupted' });
      expect(reply!.content.startsWith(heardText)).toBe(true);

      standin.setScript(() => ({ text: 'back again' }));
      const next = await send(socket, conversation, 'Again');
      await heard.waitForEnd(next);
      expect(heard.text(next)).toBe('back again');
      socket.close();
    });
  });
});
