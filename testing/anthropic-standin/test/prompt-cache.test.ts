import type Anthropic from '@anthropic-ai/sdk';
import { startStandin, type Standin } from '@ctos/anthropic-standin';
import { ask, clientFor, MODEL, RUN_COMMAND } from './support';

/** About 5,000 tokens at the stand-in's four characters a token: over every model's minimum cacheable length. */
const LONG_PROMPT = 'You are the assistant of ChingTech OS. Keep answers short and exact. '.repeat(300);
const FIVE_MINUTES = 5 * 60_000;

function cachedSystem(text = LONG_PROMPT, ttl?: '5m' | '1h'): Anthropic.TextBlockParam[] {
  return [{ type: 'text', text, cache_control: ttl ? { type: 'ephemeral', ttl } : { type: 'ephemeral' } }];
}

function totalInput(usage: Anthropic.Usage): number {
  return usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}

describe('prompt caching: cache tokens reported as the API does', () => {
  let standin: Standin;
  let now = 1_000_000;

  beforeEach(async () => {
    now = 1_000_000;
    standin = await startStandin({
      port: 0,
      host: '127.0.0.1',
      script: () => ({ text: 'ok' }),
      promptCache: { clock: () => now },
    });
  });

  afterEach(async () => {
    await standin.close();
  });

  async function usageOf(body: Partial<Anthropic.MessageCreateParamsNonStreaming>): Promise<Anthropic.Usage> {
    const message = await clientFor(standin)
      .messages.stream({ ...ask(), ...body })
      .finalMessage();
    return message.usage;
  }

  it('writes a new prefix to the cache, then reads it on the next request with the same prefix', async () => {
    const first = await usageOf({ system: cachedSystem(), messages: [{ role: 'user', content: 'Hello' }] });
    const second = await usageOf({ system: cachedSystem(), messages: [{ role: 'user', content: 'Something else' }] });

    expect(first.cache_creation_input_tokens).toBeGreaterThan(4096);
    expect(first.cache_read_input_tokens).toBe(0);
    expect(first.cache_creation).toEqual({
      ephemeral_5m_input_tokens: first.cache_creation_input_tokens,
      ephemeral_1h_input_tokens: 0,
    });
    expect(second.cache_read_input_tokens).toBe(first.cache_creation_input_tokens);
    expect(second.cache_creation_input_tokens).toBe(0);
    expect(second.cache_creation).toEqual({ ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 });
    // input_tokens counts only what follows the last breakpoint: here the user message.
    expect(first.input_tokens).toBeGreaterThan(0);
    expect(first.input_tokens).toBeLessThan(20);
    expect(second.input_tokens).toBeGreaterThan(first.input_tokens);
  });

  it('reports the cache figures in message_start and message_delta of create({stream: true}), and records them', async () => {
    const body = { ...ask(), system: cachedSystem(), stream: true as const };
    await clientFor(standin)
      .messages.create(body)
      .then(async (stream) => {
        for await (const _event of stream) {
          // Only the second request's figures matter.
        }
      });
    const events: Anthropic.MessageStreamEvent[] = [];
    for await (const event of await clientFor(standin).messages.create(body)) events.push(event);

    const start = events.find((event) => event.type === 'message_start');
    const delta = events.find((event) => event.type === 'message_delta');
    if (start?.type !== 'message_start' || delta?.type !== 'message_delta') throw new Error('missing events');
    expect(start.message.usage.cache_read_input_tokens).toBeGreaterThan(0);
    expect(start.message.usage.cache_creation_input_tokens).toBe(0);
    expect(delta.usage.cache_read_input_tokens).toBe(start.message.usage.cache_read_input_tokens);
    expect(delta.usage.input_tokens).toBe(start.message.usage.input_tokens);
    expect(standin.requests[1]?.usage).toEqual(
      expect.objectContaining({ cache_read_input_tokens: start.message.usage.cache_read_input_tokens }),
    );
  });

  it('a changed prefix creates a new entry; the unchanged tools before it are still read', async () => {
    const tools: Anthropic.Tool[] = [
      { ...RUN_COMMAND, description: LONG_PROMPT, cache_control: { type: 'ephemeral' } },
    ];
    const first = await usageOf({ tools, system: cachedSystem() });
    const changed = await usageOf({ tools, system: cachedSystem(`${LONG_PROMPT} Answer in German.`) });
    const changedTools = await usageOf({ tools: [{ ...tools[0]!, name: 'run' }], system: cachedSystem() });

    // The tools' entry is read; the system after them is written anew.
    expect(changed.cache_read_input_tokens).toBeGreaterThan(0);
    expect(changed.cache_read_input_tokens).toBeLessThan(first.cache_creation_input_tokens ?? 0);
    expect(changed.cache_creation_input_tokens).toBeGreaterThan(4096);
    // Tools come first in the prefix, so changing them invalidates everything.
    expect(changedTools.cache_read_input_tokens).toBe(0);
    expect(changedTools.cache_creation_input_tokens).toBe(totalInput(changedTools) - changedTools.input_tokens);
  });

  it('a conversation whose breakpoint moves to the newest turn reads the previous turn and writes the rest', async () => {
    const turn = (text: string): Anthropic.MessageParam => ({
      role: 'user',
      content: [{ type: 'text', text, cache_control: { type: 'ephemeral' } }],
    });
    const first = await usageOf({ system: LONG_PROMPT, messages: [turn('What is uname?')] });
    const second = await usageOf({
      system: LONG_PROMPT,
      messages: [
        { role: 'user', content: 'What is uname?' },
        { role: 'assistant', content: 'It prints the kernel name.' },
        turn('And -a?'),
      ],
    });

    expect(first.cache_creation_input_tokens).toBe(totalInput(first));
    expect(second.cache_read_input_tokens).toBe(first.cache_creation_input_tokens);
    expect(second.cache_creation_input_tokens).toBe(totalInput(second) - totalInput(first));
    expect(second.input_tokens).toBe(0);
  });

  it('a top-level cache_control caches up to the last block and moves along as the conversation grows', async () => {
    const first = await usageOf({ cache_control: { type: 'ephemeral' }, system: LONG_PROMPT });
    const second = await usageOf({
      cache_control: { type: 'ephemeral' },
      system: LONG_PROMPT,
      messages: [
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: 'Hi!' },
        { role: 'user', content: 'Again' },
      ],
    });

    expect(first.cache_creation_input_tokens).toBe(totalInput(first));
    expect(second.cache_read_input_tokens).toBe(first.cache_creation_input_tokens);
    expect(second.cache_creation_input_tokens).toBe(totalInput(second) - totalInput(first));
  });

  it("caches nothing below the model's minimum cacheable length, without an error", async () => {
    const medium = 'x'.repeat(8_000); // about 2,000 tokens
    const haiku = await usageOf({ system: cachedSystem(medium) });
    const haikuAgain = await usageOf({ system: cachedSystem(medium) });
    const sonnet = await usageOf({ model: 'claude-sonnet-4-6', system: cachedSystem(medium) });

    // Haiku 4.5 caches from 4096 tokens on, Sonnet 4.6 from 1024.
    expect(haikuAgain).toEqual(expect.objectContaining({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }));
    expect(haikuAgain.input_tokens).toBe(haiku.input_tokens);
    expect(sonnet.cache_creation_input_tokens).toBeGreaterThan(1024);
  });

  it('without cache_control nothing is cached, however often the prompt repeats', async () => {
    await usageOf({ system: LONG_PROMPT });
    const again = await usageOf({ system: LONG_PROMPT });

    expect(again).toEqual(expect.objectContaining({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }));
    expect(again.input_tokens).toBeGreaterThan(4096);
  });

  it('an entry lives 5 minutes from its last use', async () => {
    const body = { system: cachedSystem() };
    const written = await usageOf(body);
    now += 4 * 60_000;
    const readLate = await usageOf(body);
    now += 4 * 60_000; // 8 minutes after the write, 4 after the last read
    const readAfterRefresh = await usageOf(body);
    now += FIVE_MINUTES + 1;
    const expired = await usageOf(body);

    expect(readLate.cache_read_input_tokens).toBe(written.cache_creation_input_tokens);
    expect(readAfterRefresh.cache_read_input_tokens).toBe(written.cache_creation_input_tokens);
    expect(expired.cache_read_input_tokens).toBe(0);
    expect(expired.cache_creation_input_tokens).toBe(written.cache_creation_input_tokens);
  });

  it('a ttl of 1h is reported as ephemeral_1h_input_tokens and outlives 5 minutes', async () => {
    const written = await usageOf({ system: cachedSystem(LONG_PROMPT, '1h') });
    now += 30 * 60_000;
    const read = await usageOf({ system: cachedSystem(LONG_PROMPT, '1h') });

    expect(written.cache_creation).toEqual({
      ephemeral_5m_input_tokens: 0,
      ephemeral_1h_input_tokens: written.cache_creation_input_tokens,
    });
    expect(read.cache_read_input_tokens).toBe(written.cache_creation_input_tokens);
  });

  it('answers without stream with the same figures, and a failed request caches nothing', async () => {
    standin.setScript(({ attempt }) => (attempt === 0 ? { error: { status: 529 } } : { text: 'ok' }));
    const client = clientFor(standin);
    await expect(client.messages.create({ ...ask(), system: cachedSystem() })).rejects.toThrow();
    const first = await client.messages.create({ ...ask(), system: cachedSystem() });
    const second = await client.messages.create({ ...ask(), system: cachedSystem() });

    expect(standin.requests[0]?.usage).toBeUndefined();
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
  });

  it('minCacheableTokens lets a test cache short prompts', async () => {
    const small = await startStandin({ promptCache: { minCacheableTokens: 1 }, script: () => ({ text: 'ok' }) });
    try {
      const body = { ...ask(), system: cachedSystem('Be brief.') };
      await clientFor(small).messages.create(body);
      const again = await clientFor(small).messages.create(body);

      expect(again.usage.cache_read_input_tokens).toBeGreaterThan(0);
      expect(again.model).toBe(MODEL);
    } finally {
      await small.close();
    }
  });
});
