import { startStandinFromEnv } from '@ctos/anthropic-standin';
import Anthropic from '@anthropic-ai/sdk';
import { ask, clientFor } from './support';

describe('startStandinFromEnv', () => {
  it('announces its URL as one JSON line and streams echo replies', async () => {
    const lines: string[] = [];
    const standin = await startStandinFromEnv(
      { PORT: '0', STANDIN_FIRST_DELTA_DELAY_MS: '0', STANDIN_DELTA_INTERVAL_MS: '1' },
      (line) => lines.push(line),
    );
    try {
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] ?? '')).toEqual({ url: standin.url });
      expect(standin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const text = await clientFor(standin).messages.stream(ask('ping?')).finalText();
      expect(text.startsWith('You said: "ping?".')).toBe(true);
    } finally {
      await standin.close();
    }
  });

  it('requires STANDIN_API_KEY when set', async () => {
    const standin = await startStandinFromEnv({ STANDIN_API_KEY: 'sekrit' }, () => undefined);
    try {
      await expect(clientFor(standin, { apiKey: 'other' }).messages.create(ask())).rejects.toBeInstanceOf(
        Anthropic.AuthenticationError,
      );
      const ok = await clientFor(standin, { apiKey: 'sekrit' }).messages.create({ ...ask(), max_tokens: 10 });
      expect(ok.type).toBe('message');
    } finally {
      await standin.close();
    }
  });

  it('STANDIN_MIN_CACHEABLE_TOKENS lets the prompt cache keep short prefixes', async () => {
    const standin = await startStandinFromEnv({ STANDIN_MIN_CACHEABLE_TOKENS: '1' }, () => undefined);
    try {
      const body = {
        ...ask(),
        system: [{ type: 'text' as const, text: 'Be brief.', cache_control: { type: 'ephemeral' as const } }],
      };
      const first = await clientFor(standin).messages.create(body);
      const second = await clientFor(standin).messages.create(body);

      expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(0);
      expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    } finally {
      await standin.close();
    }
  });

  it('rejects a malformed PORT', async () => {
    await expect(startStandinFromEnv({ PORT: 'eighty' }, () => undefined)).rejects.toThrow('PORT must be');
  });
});
