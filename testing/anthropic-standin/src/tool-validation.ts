/**
 * The checks the API makes on `tools`, `tool_choice` and the `tool_use` / `tool_result` blocks of the
 * messages before generating anything. Each returns the `invalid_request_error` message, worded like the
 * API's, or `undefined` when all is well.
 */

type Json = Readonly<Record<string, unknown>>;

const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,128}$/u;
const TOOL_USE_ID_PATTERN = /^[a-zA-Z0-9_-]+$/u;
const TOOL_CHOICE_TYPES: readonly unknown[] = ['auto', 'any', 'tool', 'none'];

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function customToolProblem(tool: Json, at: string): string | undefined {
  const { name, input_schema: schema, description } = tool;
  if (name === undefined) return `${at}.name: Field required`;
  if (typeof name !== 'string') return `${at}.name: Input should be a valid string`;
  if (!TOOL_NAME_PATTERN.test(name)) return `${at}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`;
  if (description !== undefined && typeof description !== 'string') {
    return `${at}.description: Input should be a valid string`;
  }
  if (schema === undefined) return `${at}.input_schema: Field required`;
  if (!isRecord(schema)) return `${at}.input_schema: Input should be a valid dictionary`;
  if (schema['type'] !== 'object') return `${at}.input_schema.type: Input should be 'object'`;
  return undefined;
}

/** `tools`: a list of tools with unique names; a custom tool has a valid name and an object `input_schema`. */
export function toolsProblem(tools: unknown): string | undefined {
  if (tools === undefined) return undefined;
  if (!Array.isArray(tools)) return 'tools: Input should be a valid list';
  const names = new Set<unknown>();
  for (const [i, tool] of tools.entries()) {
    if (!isRecord(tool)) return `tools.${i}: Input should be a valid dictionary`;
    // Server tools (web search, bash, ...) carry a versioned `type` and a fixed schema of their own.
    const custom = tool['type'] === undefined || tool['type'] === 'custom';
    const problem = custom ? customToolProblem(tool, `tools.${i}.custom`) : undefined;
    if (problem !== undefined) return problem;
    if (names.has(tool['name'])) return 'tools: Tool names must be unique.';
    names.add(tool['name']);
  }
  return undefined;
}

/** `tool_choice`: `auto`, `any`, `tool` (with the `name` of one of `tools`) or `none`. */
export function toolChoiceProblem(choice: unknown, tools: unknown): string | undefined {
  if (choice === undefined) return undefined;
  if (!isRecord(choice)) return 'tool_choice: Input should be a valid dictionary';
  const type = choice['type'];
  if (type === undefined) return "tool_choice: Unable to extract tag using discriminator 'type'";
  if (!TOOL_CHOICE_TYPES.includes(type)) {
    return `tool_choice: Input tag '${String(type)}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'`;
  }
  const parallel = choice['disable_parallel_tool_use'];
  if (parallel !== undefined && typeof parallel !== 'boolean') {
    return `tool_choice.${String(type)}.disable_parallel_tool_use: Input should be a valid boolean`;
  }
  if (type === 'tool' && choice['name'] === undefined) return 'tool_choice.tool.name: Field required';
  if (type === 'tool' && typeof choice['name'] !== 'string')
    return 'tool_choice.tool.name: Input should be a valid string';
  const offered = Array.isArray(tools) ? tools.filter(isRecord).map((tool) => tool['name']) : [];
  if ((type === 'any' || type === 'tool') && offered.length === 0) {
    return `tool_choice: tool_choice.type '${type}' is only allowed when tools are provided`;
  }
  if (type === 'tool' && !offered.includes(choice['name'])) {
    return `tool_choice.tool.name: Tool '${String(choice['name'])}' not found in tools`;
  }
  return undefined;
}

function toolResultContentProblem(content: unknown, at: string): string | undefined {
  if (content === undefined || typeof content === 'string') return undefined;
  if (!Array.isArray(content)) return `${at}.content: Input should be a valid string or a list of content blocks`;
  for (const [n, part] of content.entries()) {
    if (!isRecord(part)) return `${at}.content.${n}: Input should be a valid dictionary`;
    if (part['type'] === 'text' && typeof part['text'] !== 'string') {
      return `${at}.content.${n}.text: Input should be a valid string`;
    }
  }
  return undefined;
}

/** The fields of one `tool_use` or `tool_result` content block; other blocks are not looked at. */
function blockProblem(block: Json, at: string): string | undefined {
  if (block['type'] === 'tool_use') {
    const { id, name, input } = block;
    if (typeof id !== 'string')
      return `${at}.tool_use.id: ${id === undefined ? 'Field required' : 'Input should be a valid string'}`;
    if (!TOOL_USE_ID_PATTERN.test(id)) return `${at}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
    if (typeof name !== 'string')
      return `${at}.tool_use.name: ${name === undefined ? 'Field required' : 'Input should be a valid string'}`;
    if (!isRecord(input)) return `${at}.tool_use.input: Input should be a valid dictionary`;
  }
  if (block['type'] === 'tool_result') {
    const { tool_use_id: id, is_error: isError } = block;
    if (typeof id !== 'string') {
      return `${at}.tool_result.tool_use_id: ${id === undefined ? 'Field required' : 'Input should be a valid string'}`;
    }
    if (isError !== undefined && typeof isError !== 'boolean')
      return `${at}.tool_result.is_error: Input should be a valid boolean`;
    return toolResultContentProblem(block['content'], `${at}.tool_result`);
  }
  return undefined;
}

interface Message {
  readonly role: unknown;
  readonly content: unknown;
}

function blocksOf(message: Message | undefined): Json[] {
  return message !== undefined && Array.isArray(message.content) ? message.content.filter(isRecord) : [];
}

/** Ids of the `tool_use` blocks of `message` when it is an assistant message. */
function toolUseIds(message: Message | undefined): string[] {
  if (message?.role !== 'assistant') return [];
  return blocksOf(message).flatMap((block) => (block['type'] === 'tool_use' ? [String(block['id'])] : []));
}

/** Ids answered by the `tool_result` blocks that open `message`, when it is a user message. */
function leadingToolResultIds(message: Message | undefined): Set<string> {
  const ids = new Set<string>();
  if (message?.role !== 'user') return ids;
  for (const block of blocksOf(message)) {
    if (block['type'] !== 'tool_result') break;
    ids.add(String(block['tool_use_id']));
  }
  return ids;
}

/**
 * The `tool_use` / `tool_result` pairing: every `tool_use` of an assistant message is answered by a
 * `tool_result` at the start of the next (user) message, and every `tool_result` answers a `tool_use` of the
 * message just before it.
 */
export function toolPairingProblem(messages: readonly Message[]): string | undefined {
  for (const [i, message] of messages.entries()) {
    for (const [k, block] of blocksOf(message).entries()) {
      const problem = blockProblem(block, `messages.${i}.content.${k}`);
      if (problem !== undefined) return problem;
    }
    if (message.role === 'user') {
      const asked = new Set(toolUseIds(messages[i - 1]));
      for (const [k, block] of blocksOf(message).entries()) {
        const id = block['tool_use_id'];
        if (block['type'] === 'tool_result' && !asked.has(String(id))) {
          return `messages.${i}.content.${k}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
        }
      }
    }
    const answered = leadingToolResultIds(messages[i + 1]);
    const missing = toolUseIds(message).filter((id) => !answered.has(id));
    if (missing.length > 0) {
      return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    }
  }
  return undefined;
}
