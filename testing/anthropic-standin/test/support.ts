import Anthropic from '@anthropic-ai/sdk';
import type { Standin } from '@ctos/anthropic-standin';

export const MODEL = 'claude-haiku-4-5';

/** A real SDK client aimed at the stand-in. */
export function clientFor(standin: Standin, options: { maxRetries?: number; apiKey?: string } = {}): Anthropic {
  return new Anthropic({
    apiKey: options.apiKey ?? 'test',
    baseURL: standin.url,
    maxRetries: options.maxRetries ?? 0,
  });
}

/** A tool definition as the ai-worker sends it. */
export const RUN_COMMAND = {
  name: 'run_command',
  description: 'Runs a command in the user shell and returns its exit code and output.',
  input_schema: {
    type: 'object' as const,
    properties: { command: { type: 'string' } },
    required: ['command'],
  },
};

/** A minimal valid request body for `messages.create` / `messages.stream`. */
export function ask(text = 'Hello'): {
  model: string;
  max_tokens: number;
  messages: { role: 'user'; content: string }[];
} {
  return { model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: text }] };
}

/** Polls `probe` until it returns a value other than `undefined`/`false`; rejects after `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The SSE frames of a raw response body, as `{event, data}` (parsed strictly, `\n` endings only). */
export function parseFrames(body: string): { event: string; data: unknown }[] {
  return body
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => {
      const match = /^event: (.*)\ndata: (.*)$/.exec(frame);
      if (match === null) throw new Error(`malformed frame: ${JSON.stringify(frame)}`);
      return { event: match[1] as string, data: JSON.parse(match[2] as string) as unknown };
    });
}

/** Collects the text of a `create({stream: true})` iteration. */
export async function collectText(stream: AsyncIterable<Anthropic.MessageStreamEvent>): Promise<string> {
  let text = '';
  for await (const event of stream) {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
  }
  return text;
}
