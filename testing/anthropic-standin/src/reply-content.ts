import { chunkText } from './chunk-text';
import { echoText } from './echo-script';
import type { MessagesRequest } from './messages-request';
import type { Reply } from './reply';
import { planToolUse } from './tool-use';
import {
  type ContentBlock,
  contentBlockStart,
  contentBlockStop,
  inputJsonDelta,
  type MessageFacts,
  messageDelta,
  messageStart,
  messageStop,
  ping,
  type StreamEvent,
  textDelta,
} from './wire-events';

/** One content block of a reply: the complete block, and the delta strings it streams as. */
export interface PlannedBlock {
  readonly block: ContentBlock;
  /** `text` pieces of a text block, `partial_json` pieces of a `tool_use` block. */
  readonly deltas: readonly string[];
}

/**
 * The content blocks `reply` answers `request` with: a text block first (from `deltas`, `text` or, when the
 * reply names neither and calls no tool, the echo text), then one `tool_use` block per scripted call.
 *
 * @throws TypeError when a scripted tool use is malformed.
 */
export function planContent(reply: Reply, request: MessagesRequest): PlannedBlock[] {
  const tools = (reply.toolUses ?? []).map(planToolUse);
  let deltas: string[];
  if (reply.deltas) deltas = [...reply.deltas];
  else if (reply.text !== undefined) deltas = chunkText(reply.text, reply.chunks);
  else deltas = tools.length > 0 ? [] : chunkText(echoText(request), reply.chunks);

  const blocks: PlannedBlock[] = [];
  // An empty text block before a tool call is not something the API sends; on its own it stands for "".
  if (deltas.length > 0 || tools.length === 0) blocks.push({ block: { type: 'text', text: deltas.join('') }, deltas });
  for (const tool of tools) blocks.push({ block: tool.block, deltas: tool.partialJson });
  return blocks;
}

/** How many characters of output the blocks hold: their text and their tool inputs' JSON. */
export function outputLength(blocks: readonly PlannedBlock[]): number {
  return blocks.reduce((sum, planned) => sum + planned.deltas.join('').length, 0);
}

/** One event of a planned stream; `delta` marks the `content_block_delta`s that pacing and faults count. */
export interface PlannedEvent {
  readonly event: StreamEvent;
  readonly delta: boolean;
}

/**
 * Every event of the streamed message, in order. The `ping` goes right after the first block starts, or,
 * when that block is a tool call, after its first (empty) `input_json_delta`, where the API sends it.
 */
export function streamPlan(blocks: readonly PlannedBlock[], facts: MessageFacts): PlannedEvent[] {
  const out: PlannedEvent[] = [{ event: messageStart(facts), delta: false }];
  for (const [index, { block, deltas }] of blocks.entries()) {
    out.push({ event: contentBlockStart(index, block), delta: false });
    const pingAfterFirstDelta = index === 0 && block.type === 'tool_use' && deltas.length > 0;
    if (index === 0 && !pingAfterFirstDelta) out.push({ event: ping(), delta: false });
    for (const [i, piece] of deltas.entries()) {
      const event = block.type === 'text' ? textDelta(index, piece) : inputJsonDelta(index, piece);
      out.push({ event, delta: true });
      if (i === 0 && pingAfterFirstDelta) out.push({ event: ping(), delta: false });
    }
    out.push({ event: contentBlockStop(index), delta: false });
  }
  out.push({ event: messageDelta(facts), delta: false }, { event: messageStop(), delta: false });
  return out;
}

/**
 * Where in `plan` a fault after `afterDeltas` deltas strikes: before that delta, or, past the last delta,
 * before the `content_block_stop` that follows it (the first one when nothing is streamed).
 */
export function faultIndex(plan: readonly PlannedEvent[], afterDeltas: number): number {
  const deltaAt = plan.flatMap((planned, i) => (planned.delta ? [i] : []));
  const wanted = deltaAt[Math.max(0, afterDeltas)];
  if (wanted !== undefined) return wanted;
  const from = deltaAt.at(-1) ?? 0;
  const stop = plan.findIndex((planned, i) => i > from && planned.event.type === 'content_block_stop');
  return stop === -1 ? plan.length : stop;
}
