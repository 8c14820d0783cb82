import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { startStandin, type Standin } from '@ctos/anthropic-standin';
import { ask, clientFor, RUN_COMMAND } from './support';

const CALL_A = 'toolu_01AAAAAAAAAAAAAAAAAAAAAA';
const CALL_B = 'toolu_01BBBBBBBBBBBBBBBBBBBBBB';

function toolUse(id: string): Anthropic.ToolUseBlockParam {
  return { type: 'tool_use', id, name: 'run_command', input: { command: 'ls' } };
}

function toolResult(id: string): Anthropic.ToolResultBlockParam {
  return { type: 'tool_result', tool_use_id: id, content: 'ok' };
}

describe('tool use requests the API refuses', () => {
  let standin: Standin;
  const script = jest.fn(() => ({ text: 'never' }));

  beforeEach(async () => {
    standin = await startStandin({ port: 0, host: '127.0.0.1', script });
    script.mockClear();
  });

  afterEach(async () => {
    await standin.close();
  });

  async function refusal(body: Partial<Anthropic.MessageCreateParamsNonStreaming>): Promise<APIError> {
    const sent = clientFor(standin).messages.create({ ...ask(), tools: [RUN_COMMAND], ...body, stream: true });
    const error = await sent.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!(error instanceof APIError)) throw new Error(`expected an APIError, got ${String(error)}`);
    return error;
  }

  it.each<[string, Anthropic.MessageParam[], string]>([
    [
      'a tool_result answering no tool_use of the previous message',
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [toolUse(CALL_A)] },
        { role: 'user', content: [toolResult(CALL_A), toolResult(CALL_B)] },
      ],
      'messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_01BBBBBBBBBBBBBBBBBBBBBB. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
    ],
    [
      'a tool_result in the first message',
      [{ role: 'user', content: [toolResult(CALL_A)] }],
      'messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_01AAAAAAAAAAAAAAAAAAAAAA. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
    ],
    [
      'tool_uses without their tool_results in the next message',
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'text', text: 'Two calls.' }, toolUse(CALL_A), toolUse(CALL_B)] },
        { role: 'user', content: [toolResult(CALL_B)] },
      ],
      'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01AAAAAAAAAAAAAAAAAAAAAA. Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    ],
    [
      'a tool_result after text instead of at the start of the message',
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [toolUse(CALL_A)] },
        { role: 'user', content: [{ type: 'text', text: 'here:' }, toolResult(CALL_A)] },
      ],
      'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01AAAAAAAAAAAAAAAAAAAAAA. Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    ],
    [
      'a tool_use as the last message',
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [toolUse(CALL_A)] },
      ],
      'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01AAAAAAAAAAAAAAAAAAAAAA. Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    ],
  ])('400 for %s, as a BadRequestError, before the script runs', async (_name, messages, message) => {
    const error = await refusal({ messages });

    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.status).toBe(400);
    expect(error.type).toBe('invalid_request_error');
    expect(error.apiMessage).toBe(message);
    expect(script).not.toHaveBeenCalled();
  });

  it.each<[string, Partial<Anthropic.MessageCreateParamsNonStreaming>, string]>([
    [
      'a tool name with a space',
      { tools: [{ ...RUN_COMMAND, name: 'run command' }] },
      "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
    ],
    [
      'an input_schema that is not of type object',
      { tools: [RUN_COMMAND, { name: 'x', input_schema: { type: 'string' } as never }] },
      "tools.1.custom.input_schema.type: Input should be 'object'",
    ],
    ['a tool without input_schema', { tools: [{ name: 'x' } as never] }, 'tools.0.custom.input_schema: Field required'],
    ['two tools of one name', { tools: [RUN_COMMAND, RUN_COMMAND] }, 'tools: Tool names must be unique.'],
    [
      'an unknown tool_choice type',
      { tool_choice: { type: 'required' } as never },
      "tool_choice: Input tag 'required' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
    ],
    [
      'a tool_choice naming a tool not offered',
      { tool_choice: { type: 'tool', name: 'read_terminal' } },
      "tool_choice.tool.name: Tool 'read_terminal' not found in tools",
    ],
    [
      'a tool_use id of the wrong shape',
      {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: [toolUse('call:1')] },
          { role: 'user', content: [toolResult('call:1')] },
        ],
      },
      "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'",
    ],
    [
      'five cache_control breakpoints',
      {
        system: [1, 2, 3, 4, 5].map((n) => ({
          type: 'text' as const,
          text: `part ${n}`,
          cache_control: { type: 'ephemeral' as const },
        })),
      },
      'A maximum of 4 blocks with cache_control may be provided. Found 5.',
    ],
    [
      'a cache_control TTL the API does not know',
      { system: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral', ttl: '10m' as never } }] },
      "system.0.cache_control.ttl: Input should be '5m' or '1h'",
    ],
  ])('400 for %s', async (_name, body, message) => {
    const error = await refusal(body);

    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.apiMessage).toBe(message);
  });

  it('accepts a paired tool_result with text blocks and is_error, and records what was sent', async () => {
    const messages: Anthropic.MessageParam[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: [{ type: 'text', text: 'Two calls.' }, toolUse(CALL_A), toolUse(CALL_B)] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: CALL_B, content: [{ type: 'text', text: 'exit 1' }], is_error: true },
          toolResult(CALL_A),
          { type: 'text', text: 'Go on.' },
        ],
      },
    ];
    const message = await clientFor(standin).messages.create({ ...ask(), tools: [RUN_COMMAND], messages });

    expect(message.content).toEqual([{ type: 'text', text: 'never' }]);
    expect(
      standin.requests[0]?.toolResults.map(({ toolUseId, isError, content }) => ({ toolUseId, isError, content })),
    ).toEqual([
      { toolUseId: CALL_B, isError: true, content: 'exit 1' },
      { toolUseId: CALL_A, isError: false, content: 'ok' },
    ]);
  });
});
