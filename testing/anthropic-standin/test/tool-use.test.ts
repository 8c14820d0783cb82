import type Anthropic from '@anthropic-ai/sdk';
import { afterToolResults, startStandin, type Standin } from '@ctos/anthropic-standin';
import { ask, clientFor, parseFrames, RUN_COMMAND } from './support';

const TOOL_USE_ID = /^toolu_01[0-9A-Za-z]{22}$/;
const INPUT = { command: 'uname -s', timeout_ms: 5000, env: { LANG: 'C.UTF-8' }, args: ['-s', 'ö€😀'] };

describe('scripted tool calls through the real SDK', () => {
  let standin: Standin;

  beforeEach(async () => {
    standin = await startStandin({ port: 0, host: '127.0.0.1' });
  });

  afterEach(async () => {
    await standin.close();
  });

  it('messages.stream() assembles text and tool_use blocks with the scripted input, stop_reason tool_use', async () => {
    standin.setScript(() => ({
      text: 'Let me check.',
      toolUses: [{ name: 'run_command', input: INPUT }],
      deltaIntervalMs: 1,
    }));
    const stream = clientFor(standin).messages.stream({ ...ask('Which OS?'), tools: [RUN_COMMAND] });
    const partials: string[] = [];
    stream.on('inputJson', (partial) => partials.push(partial));

    const message = await stream.finalMessage();

    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      expect.objectContaining({ type: 'text', text: 'Let me check.' }),
      {
        type: 'tool_use',
        id: expect.stringMatching(TOOL_USE_ID),
        name: 'run_command',
        input: INPUT,
        caller: { type: 'direct' },
      },
    ]);
    // The input arrives in several pieces, which the SDK's partial JSON parser joins.
    expect(partials.length).toBeGreaterThan(3);
    expect(JSON.parse(partials.join(''))).toEqual(INPUT);
  });

  it('create({stream: true}) sends tool_use blocks as content_block_start, input_json_deltas and content_block_stop', async () => {
    standin.setScript(() => ({
      toolUses: [
        { name: 'run_command', input: { command: 'id' }, id: 'toolu_01Scripted0000000000000' },
        { name: 'read_terminal', input: { session_id: 's1' } },
      ],
    }));
    const stream = await clientFor(standin).messages.create({ ...ask(), tools: [RUN_COMMAND], stream: true });
    const starts: unknown[] = [];
    const json = new Map<number, string[]>();
    const types: string[] = [];
    let stopReason: string | null = null;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_start') starts.push(event);
      if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') {
        json.set(event.index, [...(json.get(event.index) ?? []), event.delta.partial_json]);
      }
      if (event.type === 'message_delta') stopReason = event.delta.stop_reason;
    }

    expect(starts).toEqual([
      {
        type: 'content_block_start',
        index: 0,
        content_block: {
          type: 'tool_use',
          id: 'toolu_01Scripted0000000000000',
          name: 'run_command',
          input: {},
          caller: { type: 'direct' },
        },
      },
      {
        type: 'content_block_start',
        index: 1,
        content_block: expect.objectContaining({ type: 'tool_use', id: expect.stringMatching(TOOL_USE_ID), input: {} }),
      },
    ]);
    // As the API does, each tool's first input_json_delta is empty.
    expect(json.get(0)?.[0]).toBe('');
    expect(JSON.parse(json.get(0)?.join('') ?? '')).toEqual({ command: 'id' });
    expect(JSON.parse(json.get(1)?.join('') ?? '')).toEqual({ session_id: 's1' });
    expect(types[0]).toBe('message_start');
    expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(types.filter((type) => type === 'content_block_stop')).toHaveLength(2);
    expect(stopReason).toBe('tool_use');
  });

  it('sends the frames of a tool call as the API does, the model-formatted JSON cut into pieces', async () => {
    standin.setScript(() => ({ toolUses: [{ name: 'run_command', input: { command: 'ls -l' } }] }));
    const response = await fetch(`${standin.url}/v1/messages`, {
      method: 'POST',
      headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'k' },
      body: JSON.stringify({ ...ask(), tools: [RUN_COMMAND], stream: true }),
    });
    const frames = parseFrames(await response.text()).map((frame) => frame.data as { type: string; delta?: unknown });

    expect(frames.map((frame) => frame.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const pieces = frames.flatMap((frame) =>
      frame.type === 'content_block_delta' ? [(frame.delta as { partial_json: string }).partial_json] : [],
    );
    expect(pieces.join('')).toBe('{"command": "ls -l"}');
    expect(pieces[0]).toBe('');
    expect(frames[7]).toEqual(expect.objectContaining({ delta: { stop_reason: 'tool_use', stop_sequence: null } }));
  });

  it('answers without stream with the complete tool_use blocks', async () => {
    standin.setScript(() => ({
      text: 'Running it.',
      toolUses: [{ name: 'run_command', input: INPUT, partialJson: ['{"command"', ': "uname -s"}'] }],
    }));
    const message = await clientFor(standin).messages.create({ ...ask(), tools: [RUN_COMMAND] });

    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'text', text: 'Running it.' },
      {
        type: 'tool_use',
        id: expect.stringMatching(TOOL_USE_ID),
        name: 'run_command',
        input: INPUT,
        caller: { type: 'direct' },
      },
    ]);
  });

  it('a second turn with the tool_result continues the reply, and the script sees the result', async () => {
    standin.setScript(
      afterToolResults({ toolUses: [{ name: 'run_command', input: { command: 'uname -s' } }] }, ([result]) => ({
        text: `You run ${result?.content} (${result?.name} ${JSON.stringify(result?.input)}, error: ${result?.isError}).`,
      })),
    );
    const client = clientFor(standin);
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Which OS do I run?' }];

    const first = await client.messages.stream({ ...ask(), messages, tools: [RUN_COMMAND] }).finalMessage();
    const call = first.content.find((block) => block.type === 'tool_use');
    if (call?.type !== 'tool_use') throw new Error('expected a tool_use block');
    messages.push(
      { role: 'assistant', content: first.content },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: call.id, content: [{ type: 'text', text: 'Linux' }] }],
      },
    );
    const second = await client.messages.stream({ ...ask(), messages, tools: [RUN_COMMAND] }).finalMessage();

    expect(second.stop_reason).toBe('end_turn');
    expect(second.content).toEqual([
      expect.objectContaining({ text: 'You run Linux (run_command {"command":"uname -s"}, error: false).' }),
    ]);
    const recorded = standin.requests[1];
    expect(recorded?.tools).toEqual([RUN_COMMAND]);
    expect(recorded?.toolResults).toEqual([
      expect.objectContaining({ toolUseId: call.id, name: 'run_command', content: 'Linux', isError: false }),
    ]);
    expect(standin.requests[0]?.toolResults).toEqual([]);
  });

  it('an is_error tool_result reaches the script as an error', async () => {
    const seen: unknown[] = [];
    standin.setScript(({ toolResults }) => {
      seen.push(...toolResults);
      return { text: 'Understood.' };
    });
    const id = 'toolu_01AAAAAAAAAAAAAAAAAAAAAA';
    await clientFor(standin).messages.create({
      ...ask(),
      tools: [RUN_COMMAND],
      messages: [
        { role: 'user', content: 'Run it' },
        { role: 'assistant', content: [{ type: 'tool_use', id, name: 'run_command', input: { command: 'x' } }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: id, content: 'denied by the user', is_error: true },
            { type: 'text', text: 'Why?' },
          ],
        },
      ],
    });

    expect(seen).toEqual([expect.objectContaining({ toolUseId: id, content: 'denied by the user', isError: true })]);
  });

  it('a fault counts input_json_deltas like text deltas', async () => {
    standin.setScript(() => ({
      text: 'one',
      toolUses: [{ name: 'run_command', input: { command: 'ls' }, partialJson: ['', '{"command": ', '"ls"}'] }],
      fault: { kind: 'error-event', afterDeltas: 3 },
    }));
    const stream = await clientFor(standin).messages.create({ ...ask(), tools: [RUN_COMMAND], stream: true });
    const pieces: string[] = [];
    const iterate = async (): Promise<void> => {
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') {
          pieces.push(event.delta.partial_json);
        }
      }
    };

    await expect(iterate()).rejects.toMatchObject({ type: 'overloaded_error' });
    expect(pieces).toEqual(['', '{"command": ']);
  });
});
