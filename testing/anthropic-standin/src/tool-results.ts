import type { InputContentBlock, InputMessage } from './messages-request';

/** A `tool_result` block the client sent, with the `tool_use` it answers. */
export interface ToolResult {
  /** The block's `tool_use_id`. */
  readonly toolUseId: string;
  /** `name` of the answered `tool_use` in the previous assistant message; `undefined` if there is none. */
  readonly name: string | undefined;
  /** `input` of the answered `tool_use`; `undefined` if there is none. */
  readonly input: unknown;
  /** The result's text: a string `content` as is, its text blocks joined with `'\n'`, `''` without content. */
  readonly content: string;
  /** The block's `is_error`; `false` when absent. */
  readonly isError: boolean;
  /** The block as sent. */
  readonly block: InputContentBlock;
}

function blocksOf(message: InputMessage | undefined): readonly InputContentBlock[] {
  return message === undefined || typeof message.content === 'string' ? [] : message.content;
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((part: { type?: unknown; text?: unknown }) => part?.type === 'text' && typeof part.text === 'string')
    .map((part: { text: string }) => part.text)
    .join('\n');
}

/**
 * The `tool_result` blocks of the last user message, in order, each with the `tool_use` it answers: what a
 * script looks at to decide the turn after a tool call. Empty when that message carries none.
 */
export function lastToolResults(request: { readonly messages: readonly InputMessage[] }): ToolResult[] {
  const messages = request.messages;
  let at = messages.length - 1;
  while (at >= 0 && messages[at]?.role !== 'user') at--;
  const before = messages[at - 1];
  const uses = new Map(
    (before?.role === 'assistant' ? blocksOf(before) : [])
      .filter((block) => block.type === 'tool_use')
      .map((block) => [String(block['id']), block] as const),
  );
  return blocksOf(messages[at])
    .filter((block) => block.type === 'tool_result')
    .map((block) => {
      const toolUseId = String(block['tool_use_id']);
      const use = uses.get(toolUseId);
      return {
        toolUseId,
        name: typeof use?.['name'] === 'string' ? use['name'] : undefined,
        input: use?.['input'],
        content: resultText(block['content']),
        isError: block['is_error'] === true,
        block,
      };
    });
}
