import { startStandin, type Standin } from '@ctos/anthropic-standin';
import {
  connectClient,
  deletePrefix,
  SHARED_REDIS_URL,
  signToken,
  startService,
  TEST_JWT_SECRET,
  uniquePrefix,
  type ClientSocket,
  type ServiceProcess,
} from '@ctos/testkit';
import { API_KEY, Listener, newConversation, send } from './harness';

const REPLY = Array.from({ length: 60 }, (_, i) => `Line ${i + 1}: the quick brown fox, 語 and 😀.\n`).join('');

describe('a reply through a gateway that is SIGKILLed (real processes, real Redis)', () => {
  const prefix = uniquePrefix('ai-kill');
  const common = { REDIS_URL: SHARED_REDIS_URL, REDIS_PREFIX: prefix, HEARTBEAT_INTERVAL_MS: '200' };
  const processes: ServiceProcess[] = [];
  const sockets: ClientSocket[] = [];
  let standin: Standin;
  let gateways: ServiceProcess[];

  beforeAll(async () => {
    standin = await startStandin({ apiKey: API_KEY });
    processes.push(
      await startService('ai-worker', {
        ...common,
        OPS_PORT: '0',
        ANTHROPIC_API_KEY: API_KEY,
        ANTHROPIC_BASE_URL: standin.url,
        AI_MAX_RETRIES: '0',
      }),
    );
    gateways = await Promise.all(
      [0, 1].map(() => startService('gateway', { ...common, PORT: '0', AUTH_JWT_SECRET: TEST_JWT_SECRET })),
    );
    processes.push(...gateways);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    await standin.close();
    await deletePrefix(SHARED_REDIS_URL, prefix);
  });

  it('resumes through the other gateway from the last index, and the text equals the reply', async () => {
    standin.setScript(() => ({ text: REPLY, chunks: 120, deltaIntervalMs: 15 }));
    const connect = async (gateway: ServiceProcess) => {
      const socket = await connectClient(`http://127.0.0.1:${gateway.port}`, await signToken('alice'));
      sockets.push(socket);
      return socket;
    };
    const viaA = await connect(gateways[0]!);
    const heardA = new Listener(viaA);
    const conversation = newConversation();
    const messageId = await send(viaA, conversation, 'Write sixty lines');
    await heardA.waitForChunks(messageId, 15);
    await gateways[0]!.kill('SIGKILL');
    const since = heardA.lastIndex(messageId);

    const viaB = await connect(gateways[1]!);
    const heardB = new Listener(viaB);
    const answer = await viaB.emitWithAck('ai:resume', { conversation_id: conversation, message_id: messageId, since });
    expect(answer).toMatchObject({ success: true, message_id: messageId });
    const end = await heardB.waitForEnd(messageId);
    expect(end.stop_reason).toBe('end_turn');
    const indexes = [...heardA.indexes(messageId).filter((i) => i <= since), ...heardB.indexes(messageId)];
    expect(indexes).toEqual(Array.from({ length: indexes.length }, (_, i) => i));
    const text = [...heardA.reply(messageId).chunks.filter((c) => c.index <= since), ...heardB.reply(messageId).chunks]
      .map((c) => c.chunk)
      .join('');
    expect(text).toBe(REPLY);
  });
});
