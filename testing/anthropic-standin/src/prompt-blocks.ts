import type { MessagesRequest } from './messages-request';

/** How long a cache entry lives after its last use, as `cache_control.ttl` names it. */
export type CacheTtl = '5m' | '1h';

/** The API refuses a request with more `cache_control` breakpoints than this. */
const MAX_BREAKPOINTS = 4;

/** The stand-in's token estimate: about four characters a token, close enough to the API's counts. */
const CHARS_PER_TOKEN = 4;

/**
 * One block of the prompt, in the order the API reads a prompt for caching: tools, then system, then
 * messages. The prompt's prefix up to a block is what a cache entry holds.
 */
export interface PromptBlock {
  /** Where the block is and what it says (its `cache_control` left out), so equal prefixes give equal keys. */
  readonly key: string;
  readonly tokens: number;
  /** The TTL of the `cache_control` breakpoint on this block; `undefined` when it has none. */
  readonly breakpoint: CacheTtl | undefined;
}

type Block = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Block {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutCacheControl(block: Block): Block {
  const { cache_control: _cacheControl, ...rest } = block;
  return rest;
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** A text given as a string, as the content block the API reads it as. */
function asBlocks(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

function ttlOf(control: unknown): CacheTtl | undefined {
  return isRecord(control) ? (control['ttl'] === '1h' ? '1h' : '5m') : undefined;
}

function promptBlock(where: string, block: Block): PromptBlock {
  const json = JSON.stringify(withoutCacheControl(block));
  return { key: `${where}\u0000${json}`, tokens: estimateTokens(json), breakpoint: ttlOf(block['cache_control']) };
}

/**
 * The request's prompt as {@link PromptBlock}s: each tool, each system block, each message's content blocks.
 * A top-level `cache_control` (automatic caching) puts a breakpoint on the last block.
 */
export function promptBlocks(request: MessagesRequest): PromptBlock[] {
  const tools = Array.isArray(request['tools']) ? request['tools'].filter(isRecord) : [];
  const out = tools.map((tool) => promptBlock('tool', tool));
  for (const block of asBlocks(request['system'])) out.push(promptBlock('system', block));
  // A change of tool_choice invalidates the cached messages (not tools or system), so it belongs to them.
  const choice = JSON.stringify(request['tool_choice'] ?? null);
  for (const [i, message] of request.messages.entries()) {
    for (const block of asBlocks(message.content)) {
      out.push(promptBlock(`${i === 0 ? choice : ''}message ${i} ${message.role}`, block));
    }
  }
  const last = out.at(-1);
  const automatic = ttlOf(request['cache_control']);
  if (last !== undefined && automatic !== undefined)
    out[out.length - 1] = { ...last, breakpoint: last.breakpoint ?? automatic };
  return out;
}

/** A token count for the whole prompt (tools, system and messages), at least 1. */
export function estimateInputTokens(request: MessagesRequest): number {
  return Math.max(
    1,
    promptBlocks(request).reduce((sum, block) => sum + block.tokens, 0),
  );
}

function cacheControlAt(body: Block): { path: string; value: unknown }[] {
  const found: { path: string; value: unknown }[] = [];
  if (body['cache_control'] !== undefined && body['cache_control'] !== null) {
    found.push({ path: 'cache_control', value: body['cache_control'] });
  }
  const visit = (path: string, block: unknown): void => {
    if (isRecord(block) && block['cache_control'] !== undefined && block['cache_control'] !== null) {
      found.push({ path: `${path}.cache_control`, value: block['cache_control'] });
    }
  };
  const tools = body['tools'];
  if (Array.isArray(tools)) tools.forEach((tool, i) => visit(`tools.${i}.custom`, tool));
  const system = body['system'];
  if (Array.isArray(system)) system.forEach((block, i) => visit(`system.${i}`, block));
  const messages = Array.isArray(body['messages']) ? body['messages'] : [];
  messages.forEach((message: unknown, i) => {
    const content = isRecord(message) ? message['content'] : undefined;
    if (!Array.isArray(content)) return;
    content.forEach((block: unknown, k) => {
      visit(`messages.${i}.content.${k}.${isRecord(block) ? String(block['type']) : 'block'}`, block);
    });
  });
  return found;
}

/**
 * Checks every `cache_control` (top level, tools, system blocks, message content blocks) as the API does:
 * at most four of them, each `{type: "ephemeral"}` with an optional `ttl` of `"5m"` or `"1h"`.
 *
 * @returns the `invalid_request_error` message, or `undefined` when they are fine.
 */
export function cacheControlProblem(body: Block): string | undefined {
  const found = cacheControlAt(body);
  for (const { path, value } of found) {
    if (!isRecord(value)) return `${path}: Input should be a valid dictionary`;
    if (value['type'] !== 'ephemeral') return `${path}.type: Input should be 'ephemeral'`;
    const ttl = value['ttl'];
    if (ttl !== undefined && ttl !== '5m' && ttl !== '1h') return `${path}.ttl: Input should be '5m' or '1h'`;
  }
  if (found.length > MAX_BREAKPOINTS) {
    return `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${found.length}.`;
  }
  return undefined;
}
