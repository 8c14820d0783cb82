import type Anthropic from '@anthropic-ai/sdk';
import { TurnContent } from '../src/turn-content';

/** The events of a turn that says something, then calls two tools, as the API streams them. */
const EVENTS = [
  { type: 'message_start', message: {} },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me ' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'look.' } },
  { type: 'content_block_stop', index: 0 },
  {
    type: 'content_block_start',
    index: 1,
    content_block: { type: 'tool_use', id: 'toolu_1', name: 'run_command', input: {} },
  },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"comm' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'and": "uname -s"}' } },
  { type: 'content_block_stop', index: 1 },
  {
    type: 'content_block_start',
    index: 2,
    content_block: { type: 'tool_use', id: 'toolu_2', name: 'read_terminal', input: {} },
  },
  { type: 'content_block_stop', index: 2 },
  {
    type: 'content_block_start',
    index: 3,
    content_block: { type: 'tool_use', id: 'toolu_3', name: 'run_command', input: {} },
  },
  { type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: '{"command": ' } },
  { type: 'content_block_stop', index: 3 },
  { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 40 } },
  { type: 'message_stop' },
] as unknown as Anthropic.RawMessageStreamEvent[];

test('a streamed turn gives its tool calls, its stop reason, and itself as the next request sends it back', () => {
  const turn = new TurnContent();
  for (const event of EVENTS) turn.add(event);
  expect(turn.stopReason).toBe('tool_use');
  const calls = turn.toolCalls();
  expect(calls.slice(0, 2)).toEqual([
    { id: 'toolu_1', name: 'run_command', input: { command: 'uname -s' } },
    { id: 'toolu_2', name: 'read_terminal', input: {} },
  ]);
  expect(calls[2]).toMatchObject({ id: 'toolu_3', input: undefined, inputError: expect.any(String) });
  expect(turn.asAssistantContent()).toEqual([
    { type: 'text', text: 'Let me look.' },
    { type: 'tool_use', id: 'toolu_1', name: 'run_command', input: { command: 'uname -s' } },
    { type: 'tool_use', id: 'toolu_2', name: 'read_terminal', input: {} },
    { type: 'tool_use', id: 'toolu_3', name: 'run_command', input: {} },
  ]);
});
