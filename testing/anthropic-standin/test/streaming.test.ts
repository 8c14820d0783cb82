import { startStandin, type Standin } from '@ctos/anthropic-standin';
import { ask, clientFor, collectText, MODEL, parseFrames } from './support';

describe('streaming replies through the real SDK', () => {
  let standin: Standin;

  beforeEach(async () => {
    standin = await startStandin({ port: 0, host: '127.0.0.1' });
  });

  afterEach(async () => {
    await standin.close();
  });

  it('messages.stream() assembles the scripted deltas, stop_reason and usage', async () => {
    standin.setScript(() => ({
      deltas: ['Hel', 'lo, ', 'wörld', ' 👋', '!'],
      stopReason: 'max_tokens',
      usage: { inputTokens: 11, outputTokens: 7 },
      deltaIntervalMs: 5,
    }));
    const texts: string[] = [];
    const stream = clientFor(standin).messages.stream(ask('Hi there'));
    stream.on('text', (delta) => texts.push(delta));

    const message = await stream.finalMessage();

    expect(texts).toEqual(['Hel', 'lo, ', 'wörld', ' 👋', '!']);
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: 'Hello, wörld 👋!' })]);
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.stop_sequence).toBeNull();
    expect(message.usage.input_tokens).toBe(11);
    expect(message.usage.output_tokens).toBe(7);
    expect(message.model).toBe(MODEL);
    expect(message.id).toMatch(/^msg_01[0-9A-Za-z]{22}$/);
    expect(stream.request_id).toMatch(/^req_/);
  });

  it('create({stream: true}) yields the documented event sequence with the scripted text', async () => {
    standin.setScript(() => ({
      text: 'The quick brown fox jumps over the lazy dog',
      chunks: 4,
      stopReason: 'end_turn',
    }));
    const stream = await clientFor(standin).messages.create({ ...ask(), stream: true });
    const types: string[] = [];
    let text = '';
    let stopReason: string | null = null;
    let outputTokens = 0;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      if (event.type === 'message_delta') {
        stopReason = event.delta.stop_reason;
        outputTokens = event.usage.output_tokens;
      }
    }

    expect(text).toBe('The quick brown fox jumps over the lazy dog');
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      ...Array<string>(4).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(stopReason).toBe('end_turn');
    expect(outputTokens).toBeGreaterThan(0);
  });

  it('sends the exact frames and headers of the API', async () => {
    standin.setScript(() => ({ deltas: ['a', 'b'], usage: { inputTokens: 3, outputTokens: 2 } }));
    const response = await fetch(`${standin.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'k' },
      body: JSON.stringify({ ...ask(), stream: true }),
    });
    const body = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    const frames = parseFrames(body);
    for (const frame of frames) expect(frame.event).toBe((frame.data as { type: string }).type);
    const [start, blockStart, ping, d1, d2, blockStop, delta, stop] = frames.map((frame) => frame.data);
    expect(frames).toHaveLength(8);
    expect(start).toEqual({
      type: 'message_start',
      message: {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'assistant',
        model: MODEL,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: expect.objectContaining({ input_tokens: 3, output_tokens: 1 }),
      },
    });
    expect(blockStart).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(ping).toEqual({ type: 'ping' });
    expect(d1).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a' } });
    expect(d2).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'b' } });
    expect(blockStop).toEqual({ type: 'content_block_stop', index: 0 });
    // The API repeats the cumulative input and cache figures next to the final output_tokens.
    expect(delta).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 2 },
    });
    expect(stop).toEqual({ type: 'message_stop' });
  });

  it('sends extra pings while a delta is slow, which the SDK skips', async () => {
    standin.setScript(() => ({ deltas: ['late'], firstDeltaDelayMs: 200, pingIntervalMs: 40 }));
    const response = await fetch(`${standin.url}/v1/messages`, {
      method: 'POST',
      headers: { 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...ask(), stream: true }),
    });
    const pings = parseFrames(await response.text()).filter((frame) => frame.event === 'ping');
    expect(pings.length).toBeGreaterThanOrEqual(4);

    const stream = await clientFor(standin).messages.create({ ...ask(), stream: true });
    expect(await collectText(stream)).toBe('late');
  });

  it('answers without stream as a complete JSON message', async () => {
    standin.setScript(() => ({
      text: 'Complete answer.',
      stopReason: 'end_turn',
      usage: { inputTokens: 5, outputTokens: 3 },
    }));
    const message = await clientFor(standin).messages.create(ask());

    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.content).toEqual([{ type: 'text', text: 'Complete answer.' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toEqual(expect.objectContaining({ input_tokens: 5, output_tokens: 3 }));
    expect(message._request_id).toMatch(/^req_/);
  });

  it('echoes the last user message by default, streamed in many small deltas', async () => {
    const fast = await startStandin({});
    try {
      const deltas: string[] = [];
      const stream = clientFor(fast).messages.stream(ask('What is   the weather?'));
      stream.on('text', (delta) => deltas.push(delta));
      const text = await stream.finalText();

      expect(text.startsWith('You said: "What is the weather?".')).toBe(true);
      expect(deltas.length).toBeGreaterThan(20);
      expect(deltas.join('')).toBe(text);
    } finally {
      await fast.close();
    }
  });

  it('records request bodies and headers, and each completed connection', async () => {
    standin.setScript(({ body, index, attempt }) => ({ text: `#${index}/${attempt} ${body.messages.length}` }));
    const client = clientFor(standin);
    await client.messages.create({ ...ask('one'), stream: true }).then(collectText);
    const second = await client.messages.stream(ask('two')).finalText();

    expect(second).toBe('#1/1 1');
    const [first] = standin.requests;
    expect(first).toBeDefined();
    expect(first?.method).toBe('POST');
    expect(first?.path).toBe('/v1/messages');
    // SDK 1.x sends the API key as a bearer token.
    expect(first?.headers.authorization).toBe('Bearer test');
    expect(first?.headers['anthropic-version']).toBeDefined();
    expect(first?.body).toEqual(
      expect.objectContaining({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'one' }] }),
    );
    expect(first?.status).toBe(200);
    const closed = await standin.waitForClose(1);
    expect(closed.outcome).toBe('completed');
    expect(standin.closes.map((close) => close.requestIndex).sort()).toEqual([0, 1]);
  });
});
