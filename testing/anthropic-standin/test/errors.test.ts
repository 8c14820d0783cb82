import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { sequence, startStandin, type Standin } from '@ctos/anthropic-standin';
import { ask, clientFor, collectText, eventually } from './support';

async function caught(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof APIError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('API errors through the real SDK', () => {
  let standin: Standin;

  beforeEach(async () => {
    standin = await startStandin({ port: 0, host: '127.0.0.1', apiKey: 'right-key' });
  });

  afterEach(async () => {
    await standin.close();
  });

  it('401 authentication_error for a wrong key, before the script runs', async () => {
    const script = jest.fn(() => ({ text: 'never' }));
    standin.setScript(script);
    const error = await caught(clientFor(standin, { apiKey: 'wrong-key' }).messages.create({ ...ask(), stream: true }));

    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(error.status).toBe(401);
    expect(error.type).toBe('authentication_error');
    expect(error.error).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'invalid x-api-key' },
      request_id: expect.stringMatching(/^req_/),
    });
    expect(error.requestID).toMatch(/^req_/);
    expect(script).not.toHaveBeenCalled();
  });

  it('400 invalid_request_error for a body without max_tokens, messages or model', async () => {
    const post = (body: object): Promise<Response> =>
      fetch(`${standin.url}/v1/messages`, {
        method: 'POST',
        headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'right-key' },
        body: JSON.stringify(body),
      });
    const { max_tokens: _m, ...noMaxTokens } = ask();
    const { messages: _s, ...noMessages } = ask();
    const { model: _o, ...noModel } = ask();

    for (const [body, message] of [
      [noMaxTokens, 'max_tokens: Field required'],
      [noMessages, 'messages: Field required'],
      [noModel, 'model: Field required'],
      [{ ...ask(), messages: [] }, 'messages: at least one message is required'],
    ] as const) {
      const response = await post(body);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        type: 'error',
        error: { type: 'invalid_request_error', message },
        request_id: response.headers.get('request-id'),
      });
    }
    const notJson = await fetch(`${standin.url}/v1/messages`, {
      method: 'POST',
      headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'right-key' },
      body: '{"model":',
    });
    expect(notJson.status).toBe(400);

    const error = await caught(
      clientFor(standin, { apiKey: 'right-key' }).messages.create({ ...ask(), max_tokens: 0 }),
    );
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.type).toBe('invalid_request_error');
  });

  it('429 rate_limit_error carries retry-after, and the SDK waits that long before retrying', async () => {
    standin.setScript(() => ({ text: 'after the wait', error: { status: 429, retryAfterSeconds: 1, times: 1 } }));
    const first = await caught(clientFor(standin, { apiKey: 'right-key' }).messages.create({ ...ask(), stream: true }));
    expect(first).toBeInstanceOf(Anthropic.RateLimitError);
    expect(first.type).toBe('rate_limit_error');
    expect(first.headers?.get('retry-after')).toBe('1');

    standin.setScript(() => ({ text: 'after the wait', error: { status: 429, retryAfterSeconds: 1, times: 1 } }));
    const client = clientFor(standin, { apiKey: 'right-key', maxRetries: 1 });
    const text = await client.messages.stream(ask()).finalText();

    expect(text).toBe('after the wait');
    const [, limited, retried] = standin.requests;
    expect(limited?.status).toBe(429);
    expect(retried?.status).toBe(200);
    // Without the header the SDK's first backoff is at most 500 ms.
    expect((retried?.receivedAt ?? 0) - (limited?.receivedAt ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('529 overloaded twice, then success with maxRetries: 2', async () => {
    standin.setScript(() => ({ text: 'third time lucky', error: { status: 529, times: 2 } }));
    const client = clientFor(standin, { apiKey: 'right-key', maxRetries: 2 });
    const stream = await client.messages.create({ ...ask(), stream: true });

    expect(await collectText(stream)).toBe('third time lucky');
    expect(standin.requests.map((request) => request.status)).toEqual([529, 529, 200]);
    expect(standin.requests.map((request) => request.headers['x-stainless-retry-count'])).toEqual(['0', '1', '2']);
  });

  it('529 surfaces as OverloadedError once retries run out', async () => {
    standin.setScript(sequence({ error: { status: 529 } }));
    const error = await caught(clientFor(standin, { apiKey: 'right-key' }).messages.create({ ...ask(), stream: true }));

    expect(error).toBeInstanceOf(Anthropic.OverloadedError);
    expect(error.status).toBe(529);
    expect(error.type).toBe('overloaded_error');
    expect(error.apiMessage).toBe('Overloaded');
  });

  it('500 api_error', async () => {
    standin.setScript(() => ({ error: { status: 500, message: 'Internal server error' } }));
    const error = await caught(clientFor(standin, { apiKey: 'right-key' }).messages.stream(ask()).finalMessage());

    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect(error.status).toBe(500);
    expect(error.type).toBe('api_error');
  });

  it('a script that throws becomes a 500 api_error naming the failure', async () => {
    standin.setScript(() => {
      throw new Error('boom');
    });
    const error = await caught(clientFor(standin, { apiKey: 'right-key' }).messages.create(ask()));

    expect(error.status).toBe(500);
    expect(error.apiMessage).toContain('boom');
  });

  it('a mid-stream error event surfaces as an APIError while iterating, after the earlier deltas', async () => {
    standin.setScript(() => ({ deltas: ['one ', 'two ', 'three'], fault: { kind: 'error-event', afterDeltas: 2 } }));
    const stream = await clientFor(standin, { apiKey: 'right-key' }).messages.create({ ...ask(), stream: true });
    let text = '';
    const iterate = async (): Promise<void> => {
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      }
    };
    const error = await caught(iterate());

    expect(text).toBe('one two ');
    expect(error.status).toBeUndefined();
    expect(error.type).toBe('overloaded_error');
    expect(error.error).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect((await standin.waitForClose(0)).outcome).toBe('completed');
  });

  it('a mid-stream error rejects MessageStream.finalText()', async () => {
    standin.setScript(() => ({
      text: 'partial answer',
      fault: { kind: 'error-event', afterDeltas: 1, type: 'api_error', message: 'Internal server error' },
    }));
    const error = await caught(clientFor(standin, { apiKey: 'right-key' }).messages.stream(ask()).finalText());

    expect(error.type).toBe('api_error');
    expect(error.apiMessage).toBe('Internal server error');
  });

  it('a dropped connection fails the iteration and is recorded as dropped', async () => {
    standin.setScript(() => ({ deltas: ['a', 'b', 'c'], fault: { kind: 'drop', afterDeltas: 1 } }));
    const stream = await clientFor(standin, { apiKey: 'right-key' }).messages.create({ ...ask(), stream: true });

    await expect(collectText(stream)).rejects.toThrow();
    const record = await standin.waitForClose(0);
    expect(record.outcome).toBe('dropped');
    await eventually(() => standin.closes.length === 1);
  });

  it('answers 404 not_found_error outside /v1/messages', async () => {
    const response = await fetch(`${standin.url}/v1/complete`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(
      expect.objectContaining({ type: 'error', error: { type: 'not_found_error', message: 'Not found' } }),
    );
  });
});
