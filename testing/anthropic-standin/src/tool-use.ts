import { chunkText } from './chunk-text';
import { newToolUseId } from './ids';

/**
 * Roughly how many characters of tool input one `input_json_delta` carries when the script gives no
 * pieces: the model streams a tool's input a few tokens at a time.
 */
const INPUT_JSON_PIECE_CHARS = 16;

/** A tool call a `Reply` makes, streamed as a `tool_use` content block. */
export interface ScriptedToolUse {
  /** The tool's `name`, normally one of the request's `tools`. */
  readonly name: string;
  /** The tool's `input`: a JSON object, as the model's tool input always is. */
  readonly input: Readonly<Record<string, unknown>>;
  /** The block's `id`; default a fresh `toolu_01…` id. */
  readonly id?: string;
  /**
   * The exact `partial_json` strings of the `input_json_delta`s, in order. Default: an empty first piece
   * (as the API sends), then the input's JSON in pieces of about 16 characters.
   */
  readonly partialJson?: readonly string[];
}

/** A `tool_use` content block as the API returns it. */
export interface ToolUseBlock {
  readonly type: 'tool_use';
  readonly id: string;
  readonly name: string;
  readonly input: Readonly<Record<string, unknown>>;
  /** Who called the tool; `direct` for a tool the model called itself. */
  readonly caller: { readonly type: 'direct' };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON the way the model writes a tool's input: `", "` between items and `": "` after keys, e.g.
 * `{"command": "uname -s", "timeout": 5}`.
 */
export function modelJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(modelJson).join(', ')}]`;
  if (isRecord(value)) {
    const fields = Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${modelJson(item)}`);
    return `{${fields.join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** One scripted tool call, ready to send: the content block and its `partial_json` pieces. */
export interface PlannedToolUse {
  readonly block: ToolUseBlock;
  readonly partialJson: readonly string[];
}

/**
 * Gives a scripted tool call its id and its `partial_json` pieces; joining the default pieces gives the
 * input's JSON, so the SDK's partial JSON parser ends with an input equal to the scripted one.
 *
 * @throws TypeError when `input` is not a JSON object or `name` is not a string.
 */
export function planToolUse(scripted: ScriptedToolUse): PlannedToolUse {
  if (typeof scripted.name !== 'string') throw new TypeError('a scripted tool use needs a name');
  // A round trip drops what JSON cannot carry (undefined, functions), as the wire would.
  const input: unknown = JSON.parse(JSON.stringify(scripted.input ?? null) ?? 'null');
  if (!isRecord(input)) throw new TypeError(`the input of tool use "${scripted.name}" must be a JSON object`);
  const json = modelJson(input);
  const partialJson = scripted.partialJson
    ? [...scripted.partialJson]
    : ['', ...chunkText(json, Math.ceil(json.length / INPUT_JSON_PIECE_CHARS))];
  return {
    block: {
      type: 'tool_use',
      id: scripted.id ?? newToolUseId(),
      name: scripted.name,
      input,
      caller: { type: 'direct' },
    },
    partialJson,
  };
}
