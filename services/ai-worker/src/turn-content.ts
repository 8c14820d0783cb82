import type Anthropic from '@anthropic-ai/sdk';

/** A tool call the model made, its input assembled from the streamed JSON. */
export interface ToolCall {
  id: string;
  name: string;
  /** The parsed input; undefined when the streamed JSON did not parse (`inputError` says why). */
  input: unknown;
  inputError?: string;
}

/**
 * The content blocks of one streamed assistant turn, assembled as the Messages API streams
 * them (https://docs.anthropic.com/en/api/messages-streaming): `content_block_start` opens a
 * block at an `index` (`text` or `tool_use`), `content_block_delta` adds to it
 * (`text_delta`, `input_json_delta` with `partial_json`), `content_block_stop` closes it,
 * and `message_delta` carries the `stop_reason`. What it holds is what the next request
 * sends back as the assistant's turn, with the tool results after it.
 */
export class TurnContent {
  private readonly blocks: Array<
    { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; json: string }
  > = [];
  private readonly byIndex = new Map<number, number>();
  /** Why the turn stopped (`end_turn`, `tool_use`, `max_tokens`…), once the stream said. */
  stopReason: Anthropic.StopReason | null = null;

  /** Takes one streamed event; events of other kinds are ignored. */
  add(event: Anthropic.RawMessageStreamEvent): void {
    if (event.type === 'content_block_start') {
      const block = event.content_block;
      if (block.type === 'text') this.open(event.index, { type: 'text', text: block.text });
      if (block.type === 'tool_use')
        this.open(event.index, { type: 'tool_use', id: block.id, name: block.name, json: '' });
    } else if (event.type === 'content_block_delta') {
      const at = this.byIndex.get(event.index);
      const block = at === undefined ? undefined : this.blocks[at];
      if (block?.type === 'text' && event.delta.type === 'text_delta') block.text += event.delta.text;
      if (block?.type === 'tool_use' && event.delta.type === 'input_json_delta') block.json += event.delta.partial_json;
    } else if (event.type === 'message_delta') {
      this.stopReason = event.delta.stop_reason ?? this.stopReason;
    }
  }

  /** The tool calls of the turn, in order. */
  toolCalls(): ToolCall[] {
    const calls: ToolCall[] = [];
    for (const block of this.blocks) {
      if (block.type !== 'tool_use') continue;
      try {
        // An empty input streams no JSON at all: it is `{}`.
        calls.push({ id: block.id, name: block.name, input: JSON.parse(block.json === '' ? '{}' : block.json) });
      } catch (error) {
        calls.push({ id: block.id, name: block.name, input: undefined, inputError: (error as Error).message });
      }
    }
    return calls;
  }

  /** The turn as the next request sends it back: its text and tool_use blocks, in order. */
  asAssistantContent(): Anthropic.ContentBlockParam[] {
    const content: Anthropic.ContentBlockParam[] = [];
    for (const block of this.blocks) {
      if (block.type === 'text') {
        if (block.text !== '') content.push({ type: 'text', text: block.text });
        continue;
      }
      const call = this.toolCalls().find((candidate) => candidate.id === block.id)!;
      // A call whose input did not parse is sent back with an empty input; its result says why.
      content.push({ type: 'tool_use', id: block.id, name: block.name, input: call.input ?? {} });
    }
    return content;
  }

  private open(index: number, block: (typeof this.blocks)[number]): void {
    this.byIndex.set(index, this.blocks.length);
    this.blocks.push(block);
  }
}
