import type {
  AiHistoryMessage,
  ClientEventName,
  ClientPayload,
  Disposable,
  ServerEventName,
  ServerToClientEvents,
} from '@ctos/protocol';
import type { ConversationEvent } from '../src/ai/conversation-events';
import { ConversationStream, type ConversationMemory } from '../src/ai/conversation-stream';
import { turnText } from '../src/ai/conversation-turn';
import type { AckFor, SocketChannel } from '../src/shell/socket-channel';

/**
 * The assistant's conversation stream without a DOM, a browser or a server: a fake
 * channel records what the stream asks and plays the server's events. (This file is
 * compiled without DOM types, so it also proves the stream needs none.)
 */

type Answers = { [E in ClientEventName]?: (payload: ClientPayload<E>) => AckFor<E> };

/** A socket channel whose requests are answered by `answers` and whose server events the test emits. */
class FakeChannel implements SocketChannel {
  connected = true;
  readonly requests: Array<{ event: ClientEventName; payload: unknown }> = [];
  private readonly listeners = new Map<ServerEventName, Set<(payload: never) => void>>();

  constructor(private readonly answers: Answers) {}

  on<E extends ServerEventName>(event: E, listener: ServerToClientEvents[E]): Disposable {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
    return { dispose: () => void set.delete(listener) };
  }

  request<E extends ClientEventName>(event: E, payload: ClientPayload<E>): Promise<AckFor<E>> {
    this.requests.push({ event, payload });
    const answer = this.answers[event] as ((payload: ClientPayload<E>) => AckFor<E>) | undefined;
    if (!answer) throw new Error(`the test did not expect ${event}`);
    return Promise.resolve(answer(payload));
  }

  /** Plays a server event to every listener. */
  emit<E extends ServerEventName>(event: E, payload: Parameters<ServerToClientEvents[E]>[0]): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as (value: typeof payload) => void)(payload);
  }

  /** Listeners still registered, over all events. */
  get listenerCount(): number {
    return [...this.listeners.values()].reduce((sum, set) => sum + set.size, 0);
  }

  /** The payloads of the requests of `event`, oldest first. */
  sent<E extends ClientEventName>(event: E): ClientPayload<E>[] {
    return this.requests.filter((entry) => entry.event === event).map((entry) => entry.payload as ClientPayload<E>);
  }
}

function memory(id?: string): ConversationMemory & { id: string | undefined } {
  return {
    id,
    load() {
      return this.id;
    },
    save(next) {
      this.id = next;
    },
  };
}

/** Lets answered requests and their `.then`s run (they are already resolved). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const ANSWERS: Answers = {
  'ai:conversations': () => ({ success: true, conversations: [] }),
  'ai:message': () => ({ success: true, message_id: 'm1' }),
  'ai:resume': (payload) => ({ success: true, message_id: payload.message_id, status: 'streaming', last_index: 9 }),
};

function open(answers: Answers = ANSWERS, remembered?: string) {
  const channel = new FakeChannel(answers);
  const stream = new ConversationStream(channel, memory(remembered));
  const events: ConversationEvent[] = [];
  stream.onEvent((event) => events.push(event));
  return { channel, stream, events };
}

test('a sent message begins a conversation, and its reply is put together from chunks in index order', async () => {
  const { channel, stream, events } = open();
  await stream.send('  How do I list files?  ');
  const [message] = channel.sent('ai:message');
  expect(message?.content).toBe('How do I list files?');
  const id = message?.conversation_id ?? '';
  expect(stream.currentId).toBe(id);
  expect(stream.conversations.map((info) => info.title)).toEqual(['How do I list files?']);
  expect(stream.turns.map((turn) => [turn.role, turn.status])).toEqual([
    ['user', 'complete'],
    ['assistant', 'pending'],
  ]);
  expect(stream.isStreaming).toBe(true);

  channel.emit('ai:stream:start', { conversation_id: id, message_id: 'm1' });
  channel.emit('ai:stream:chunk', { conversation_id: id, message_id: 'm1', chunk: 'Use ', index: 0 });
  channel.emit('ai:stream:chunk', { conversation_id: id, message_id: 'm1', chunk: '`ls`', index: 2 });
  const reply = stream.turns[1];
  if (!reply) throw new Error('no reply turn');
  expect(turnText(reply)).toBe('Use ');
  // The chunk after the missing one waits, and the missing one is asked for from the last index held.
  expect(channel.sent('ai:resume')).toEqual([{ conversation_id: id, message_id: 'm1', since: 0 }]);
  channel.emit('ai:stream:chunk', { conversation_id: id, message_id: 'm1', chunk: 'plain ', index: 1 });
  expect(turnText(reply)).toBe('Use plain `ls`');

  const before = events.length;
  channel.emit('ai:stream:chunk', { conversation_id: id, message_id: 'm1', chunk: 'plain ', index: 1 });
  expect(events.length).toBe(before); // a duplicate changes nothing
  expect(turnText(reply)).toBe('Use plain `ls`');

  channel.emit('ai:stream:end', {
    conversation_id: id,
    message_id: 'm1',
    stop_reason: 'end_turn',
    usage: { input_tokens: 1, output_tokens: 3 },
  });
  expect(reply.status).toBe('complete');
  expect(stream.isStreaming).toBe(false);
  expect(events.map((event) => event.type)).toContain('streaming');
});

test('a reload reopens the remembered conversation and resumes its streaming reply from the start', async () => {
  const history: AiHistoryMessage[] = [
    { message_id: 'u1', role: 'user', content: 'Tell me a story', status: 'complete', created_at: '' },
    { message_id: 'm1', role: 'assistant', content: 'Once upon', status: 'streaming', created_at: '' },
  ];
  const { channel, stream, events } = open(
    {
      ...ANSWERS,
      'ai:history': (payload) => ({ success: true, conversation_id: payload.conversation_id, messages: history }),
    },
    'c1',
  );
  await stream.connected(true);
  expect(channel.sent('ai:history')).toEqual([{ conversation_id: 'c1' }]);
  expect(events.map((event) => event.type)).toContain('history');
  // No chunk yet: all of them, from the start.
  expect(channel.sent('ai:resume')).toEqual([{ conversation_id: 'c1', message_id: 'm1' }]);
  const reply = stream.turns[1];
  if (!reply) throw new Error('no reply turn');
  expect(reply.prompt).toBe('Tell me a story');
  // The history's partial text shows until the resumed chunks pass it.
  channel.emit('ai:stream:chunk', { conversation_id: 'c1', message_id: 'm1', chunk: 'Once', index: 0 });
  expect(turnText(reply)).toBe('Once upon');
  channel.emit('ai:stream:chunk', { conversation_id: 'c1', message_id: 'm1', chunk: ' upon a time', index: 1 });
  expect(turnText(reply)).toBe('Once upon a time');

  // A later reconnect resumes after the last chunk held instead of reloading the history.
  await settle();
  await stream.connected(false);
  await settle();
  expect(channel.sent('ai:history')).toHaveLength(1);
  expect(channel.sent('ai:resume').at(-1)).toEqual({ conversation_id: 'c1', message_id: 'm1', since: 1 });
});

test('a resync hint resumes a streaming reply from its last chunk on the same connection, retrying while the server cannot answer', async () => {
  jest.useFakeTimers({ doNotFake: ['setImmediate'] });
  try {
    let refusals = 1;
    const history: AiHistoryMessage[] = [
      { message_id: 'u1', role: 'user', content: 'Count', status: 'complete', created_at: '' },
      { message_id: 'm1', role: 'assistant', content: '', status: 'streaming', created_at: '' },
    ];
    const { channel, stream } = open(
      {
        ...ANSWERS,
        'ai:history': (payload) => ({ success: true, conversation_id: payload.conversation_id, messages: history }),
        'ai:resume': (payload) =>
          refusals-- > 0
            ? { success: false, code: 'UNAVAILABLE', error: 'The message bus cannot be reached; try again shortly.' }
            : { success: true, message_id: payload.message_id, status: 'streaming', last_index: 1 },
      },
      'c1',
    );
    refusals = 0;
    await stream.connected(true);
    channel.emit('ai:stream:chunk', { conversation_id: 'c1', message_id: 'm1', chunk: 'one ', index: 0 });
    channel.emit('ai:stream:chunk', { conversation_id: 'c1', message_id: 'm1', chunk: 'two ', index: 1 });
    await settle();
    const reply = stream.turns[1];
    if (!reply) throw new Error('no reply turn');

    // Chunks may have been lost while the connection stayed up: catch up from index 1.
    refusals = 1;
    channel.emit('connection:resync', { reason: 'room_events_lost' });
    await settle();
    expect(channel.sent('ai:resume').at(-1)).toEqual({ conversation_id: 'c1', message_id: 'm1', since: 1 });
    // Refused while Redis comes back: not a failure, tried again a moment later.
    const asked = channel.sent('ai:resume').length;
    expect(reply.status).toBe('streaming');
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(channel.sent('ai:resume')).toHaveLength(asked + 1);
    expect(channel.sent('ai:resume').at(-1)).toEqual({ conversation_id: 'c1', message_id: 'm1', since: 1 });
    channel.emit('ai:stream:chunk', { conversation_id: 'c1', message_id: 'm1', chunk: 'three', index: 2 });
    expect(turnText(reply)).toBe('one two three');
    expect(channel.sent('ai:history')).toHaveLength(1);
    stream.dispose();
  } finally {
    jest.useRealTimers();
  }
});

test('a resync hint reopens a conversation whose reply began unheard', async () => {
  const { channel, stream } = open({
    ...ANSWERS,
    'ai:history': (payload) => ({ success: true, conversation_id: payload.conversation_id, messages: [] }),
  });
  await stream.send('Hello?');
  const id = stream.currentId ?? '';
  // ai:stream:start was lost: the reply's turn has no id yet, so only the history can tell.
  channel.emit('connection:resync', { reason: 'room_events_lost' });
  await settle();
  expect(channel.sent('ai:conversations').length).toBeGreaterThan(0);
  expect(channel.sent('ai:history')).toEqual([{ conversation_id: id }]);
});

test('a retryable failure is offered for retry, and Retry sends the same question again on the same turn', async () => {
  let fail = true;
  const { channel, stream, events } = open({
    ...ANSWERS,
    'ai:message': () =>
      fail
        ? { success: false, code: 'UNAVAILABLE', error: 'The assistant is busy. Try again.' }
        : { success: true, message_id: 'm2' },
  });
  await stream.send('Why?');
  const failed = events.find((event) => event.type === 'turn-failed');
  if (failed?.type !== 'turn-failed' || !failed.retry) throw new Error('no retryable failure');
  expect(failed.error).toBe('The assistant is busy. Try again.');
  expect(failed.turn.status).toBe('failed');
  expect(stream.isStreaming).toBe(false);

  fail = false;
  failed.retry();
  await settle();
  expect(channel.sent('ai:message').map((payload) => payload.content)).toEqual(['Why?', 'Why?']);
  expect(stream.turns).toHaveLength(2);
  expect(stream.turns[1]).toBe(failed.turn);
  expect(failed.turn.status).toBe('pending');
  expect(
    events.filter((event) => event.type === 'sent').map((event) => event.type === 'sent' && event.retried),
  ).toEqual([false, true]);
});

test('a message sent while disconnected fails at once, and an error with no conversation is a notice', async () => {
  const { channel, stream, events } = open();
  channel.connected = false;
  await stream.send('Hello');
  expect(channel.sent('ai:message')).toHaveLength(0);
  expect(events.find((event) => event.type === 'turn-failed')).toMatchObject({ retry: expect.any(Function) });
  channel.emit('ai:error', { code: 'INTERNAL', error: 'Something went wrong.', retryable: false });
  expect(events.at(-1)).toEqual({ type: 'notice', error: 'Something went wrong.' });
});

test('dispose stops listening to the socket', async () => {
  const { channel, stream, events } = open();
  expect(channel.listenerCount).toBe(5); // four ai:* events and connection:resync
  await stream.send('Hi');
  stream.dispose();
  expect(channel.listenerCount).toBe(0);
  const before = events.length;
  channel.emit('ai:stream:start', { conversation_id: stream.currentId ?? '', message_id: 'm1' });
  expect(events.length).toBe(before);
  expect(stream.turns[1]?.status).toBe('pending');
});
