import { createLogger } from '@ctos/runtime';
import { BUILDS, history, Listener, newConversation, send, startCluster, type TestCluster } from './harness';

/** A logger whose JSON lines the test can read. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'ai-worker',
    level: 'info',
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { logger, lines };
}

describe.each(BUILDS)('upstream failures (%s)', (build) => {
  let cluster: TestCluster;

  afterEach(() => cluster.stop());

  it('turns a mid-stream error event into a retryable UPSTREAM_ERROR and keeps the message and the partial reply', async () => {
    cluster = await startCluster(build);
    cluster.standin.setScript(() => ({
      deltas: ['Hello', ' there', ', friend', ' never sent'],
      fault: { kind: 'error-event', afterDeltas: 3, message: 'Overloaded (upstream detail)' },
    }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Say hello');

    const error = await heard.waitForError(messageId);
    expect(error).toMatchObject({ conversation_id: conversation, code: 'UPSTREAM_ERROR', retryable: true });
    expect(error.error).not.toMatch(/Overloaded|upstream detail/);
    expect(heard.reply(messageId).end).toBeUndefined();
    expect(heard.text(messageId)).toBe('Hello there, friend');
    expect(await history(socket, conversation)).toEqual([
      expect.objectContaining({ role: 'user', content: 'Say hello', status: 'complete' }),
      expect.objectContaining({
        message_id: messageId,
        role: 'assistant',
        content: 'Hello there, friend',
        status: 'interrupted',
        stop_reason: 'interrupted',
      }),
    ]);

    cluster.standin.setScript(() => ({ text: 'fine now' }));
    const next = await send(socket, conversation, 'Again');
    await heard.waitForEnd(next);
    expect(heard.text(next)).toBe('fine now');
  });

  it('gives a retryable UPSTREAM_ERROR after the SDK’s retries of 529 run out, keeping the message', async () => {
    cluster = await startCluster(build, { env: { AI_MAX_RETRIES: '2' } });
    cluster.standin.setScript(() => ({ error: { status: 529, retryAfterSeconds: 0.01 } }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Are you there?');

    const error = await heard.waitForError(messageId);
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true });
    expect(cluster.standin.requests).toHaveLength(3);
    expect(cluster.standin.requests.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1', '2']);
    expect(await history(socket, conversation)).toEqual([
      expect.objectContaining({ role: 'user', content: 'Are you there?' }),
      expect.objectContaining({ role: 'assistant', content: '', status: 'interrupted' }),
    ]);
  });

  it('succeeds when a 500 passes within the retries', async () => {
    cluster = await startCluster(build, { env: { AI_MAX_RETRIES: '2' } });
    cluster.standin.setScript(() => ({
      text: 'second time lucky',
      error: { status: 500, times: 1, retryAfterSeconds: 0.01 },
    }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const messageId = await send(socket, newConversation(), 'Try');
    await heard.waitForEnd(messageId);
    expect(heard.text(messageId)).toBe('second time lucky');
    expect(cluster.standin.requests).toHaveLength(2);
  });

  it('gives RATE_LIMITED, retryable, when the API keeps answering 429', async () => {
    cluster = await startCluster(build, { env: { AI_MAX_RETRIES: '1' } });
    cluster.standin.setScript(() => ({ error: { status: 429, retryAfterSeconds: 0.01 } }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const messageId = await send(socket, newConversation(), 'Busy?');
    await expect(heard.waitForError(messageId)).resolves.toMatchObject({ code: 'RATE_LIMITED', retryable: true });
  });

  it('gives UNAVAILABLE, not retryable, when the API rejects the key, and tells the operator', async () => {
    const { logger, lines } = capturingLogger();
    cluster = await startCluster(build, { standin: { apiKey: 'the-real-key' }, workerLogger: logger });
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Hello?');

    const error = await heard.waitForError(messageId);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: false });
    expect(error.error).not.toMatch(/x-api-key/);
    expect(lines.some((line) => /"level":50/.test(line) && /ANTHROPIC_API_KEY/.test(line))).toBe(true);
    expect(lines.join('\n')).not.toContain('Hello?');
    expect((await history(socket, conversation))[0]).toMatchObject({ role: 'user', content: 'Hello?' });
  });

  it('gives a retryable UPSTREAM_ERROR when the connection drops mid-stream', async () => {
    cluster = await startCluster(build);
    cluster.standin.setScript(() => ({ deltas: ['a', 'b', 'c'], fault: { kind: 'drop', afterDeltas: 2 } }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Go');
    await expect(heard.waitForError(messageId)).resolves.toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true });
    expect((await history(socket, conversation))[1]).toMatchObject({ content: 'ab', status: 'interrupted' });
  });
});

describe.each([
  [
    'stays silent after one delta',
    { deltas: ['first', 'never'], fault: { kind: 'stall', afterDeltas: 1 } } as const,
    'first',
  ],
  [
    'sends only pings after one delta',
    { deltas: ['first', 'never'], deltaIntervalMs: 60_000, pingIntervalMs: 40 },
    'first',
  ],
  ['sends its headers and then nothing', { deltas: ['never'], fault: { kind: 'stall', afterDeltas: 0 } } as const, ''],
])('a stream that %s (P15)', (_title, reply, kept) => {
  let cluster: TestCluster;

  beforeEach(async () => {
    cluster = await startCluster('memory', { env: { AI_STREAM_IDLE_MS: '300' } });
  });
  afterEach(() => cluster.stop());

  it('is aborted after the idle limit, marked interrupted, and reported retryable', async () => {
    cluster.standin.setScript(() => reply);
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Hello');

    const error = await heard.waitForError(messageId, 5000);
    const upstream = await cluster.standin.waitForClose(0, 1000);
    // Stopped by the idle limit, as the error says (not by the cap or an upstream failure).
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true });
    expect(error.error).toMatch(/^The AI service stopped sending for 0\.3 s, so the reply was stopped/);
    expect(upstream.outcome).toBe('client-closed');
    expect(heard.text(messageId)).toBe(kept);
    expect((await history(socket, conversation))[1]).toMatchObject({ status: 'interrupted', content: kept });
    expect(cluster.workers[0]!.activeReplies).toBe(0);
  });
});

describe('a reply that outlasts AI_STREAM_MAX_MS', () => {
  let cluster: TestCluster;

  beforeEach(async () => {
    cluster = await startCluster('memory', { env: { AI_STREAM_IDLE_MS: '400', AI_STREAM_MAX_MS: '600' } });
  });
  afterEach(() => cluster.stop());

  it('is stopped at the cap even though deltas keep coming, keeping what was written', async () => {
    cluster.standin.setScript(() => ({ text: 'tick '.repeat(100), deltaIntervalMs: 50 }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Tick');
    const error = await heard.waitForError(messageId, 5000);
    expect(error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      retryable: true,
      error: expect.stringMatching(/longer than 0.6 s/),
    });
    await cluster.standin.waitForClose(0, 1000);
    const text = heard.text(messageId);
    expect(text.length).toBeGreaterThan(0);
    expect((await history(socket, conversation))[1]).toMatchObject({ status: 'interrupted', content: text });
  });
});
