import { cacheControlProblem } from './prompt-blocks';
import { toolChoiceProblem, toolPairingProblem, toolsProblem } from './tool-validation';

/** A content block of an input message (`text`, `tool_use`, `tool_result`, `image`, ...), kept as sent. */
export interface InputContentBlock {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** One input message of a Messages API request; content blocks are kept as sent. */
export interface InputMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string | readonly InputContentBlock[];
}

/**
 * A validated `POST /v1/messages` body. Only the fields the stand-in looks at are typed; everything else
 * the client sent (system, temperature, tools, ...) is kept as is.
 */
export interface MessagesRequest {
  readonly model: string;
  readonly max_tokens: number;
  readonly messages: readonly InputMessage[];
  readonly stream?: boolean;
  readonly [field: string]: unknown;
}

/** The outcome of {@link validateMessagesRequest}: the request, or the `invalid_request_error` message. */
export type RequestValidation =
  { readonly ok: true; readonly request: MessagesRequest } | { readonly ok: false; readonly message: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): RequestValidation {
  return { ok: false, message };
}

function systemProblem(system: unknown): string | undefined {
  if (system === undefined || typeof system === 'string') return undefined;
  if (!Array.isArray(system)) return 'system: Input should be a valid string or a list of text blocks';
  for (const [i, block] of system.entries()) {
    if (!isRecord(block)) return `system.${i}: Input should be a valid dictionary`;
    if (block['type'] !== 'text') return `system.${i}.type: Input should be 'text'`;
    if (typeof block['text'] !== 'string') return `system.${i}.text: Input should be a valid string`;
  }
  return undefined;
}

/**
 * Checks the fields the real API rejects with 400 `invalid_request_error` before generating anything, with
 * messages worded like the API's (`"max_tokens: Field required"`).
 */
export function validateMessagesRequest(body: unknown): RequestValidation {
  if (!isRecord(body)) return invalid('The request body must be a JSON object');
  const { model, max_tokens: maxTokens, messages, stream } = body;
  if (model === undefined) return invalid('model: Field required');
  if (typeof model !== 'string' || model === '') return invalid('model: Input should be a valid string');
  if (maxTokens === undefined) return invalid('max_tokens: Field required');
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens)) {
    return invalid('max_tokens: Input should be a valid integer');
  }
  if (maxTokens < 1) return invalid('max_tokens: Input should be greater than or equal to 1');
  if (messages === undefined) return invalid('messages: Field required');
  if (!Array.isArray(messages)) return invalid('messages: Input should be a valid list');
  if (messages.length === 0) return invalid('messages: at least one message is required');
  for (const [i, message] of messages.entries()) {
    if (!isRecord(message)) return invalid(`messages.${i}: Input should be a valid dictionary`);
    if (message['role'] !== 'user' && message['role'] !== 'assistant') {
      return invalid(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    }
    const content = message['content'];
    if (content === undefined) return invalid(`messages.${i}.content: Field required`);
    if (typeof content !== 'string' && !(Array.isArray(content) && content.every(isRecord))) {
      return invalid(`messages.${i}.content: Input should be a valid string or a list of content blocks`);
    }
  }
  if (stream !== undefined && typeof stream !== 'boolean') return invalid('stream: Input should be a valid boolean');
  const problem =
    systemProblem(body['system']) ??
    toolsProblem(body['tools']) ??
    toolChoiceProblem(body['tool_choice'], body['tools']) ??
    toolPairingProblem(messages as readonly InputMessage[]) ??
    cacheControlProblem(body);
  if (problem !== undefined) return invalid(problem);
  return { ok: true, request: body as MessagesRequest };
}

/** The text of the last user message (its text blocks joined), or `''` when there is none. */
export function lastUserText(request: MessagesRequest): string {
  const last = [...request.messages].reverse().find((message) => message.role === 'user');
  if (last === undefined) return '';
  if (typeof last.content === 'string') return last.content;
  return last.content
    .filter((block) => block.type === 'text' && typeof block.text === 'string')
    .map((block) => block.text as string)
    .join('\n');
}
