/** The line terminator used inside SSE frames; the SSE spec allows all three and parsers must accept each. */
export type LineEnding = '\n' | '\r\n' | '\r';

/** Which frame of a response is being split: its SSE event name and its 0-based position in the response. */
export interface FrameInfo {
  readonly event: string;
  readonly index: number;
}

/**
 * How one encoded SSE frame is cut into separate socket writes, to exercise parsers that must join
 * lines across network reads:
 * - `'frame'`: one write per frame (what the real API mostly does);
 * - `'byte'`: one write per byte, which also splits multi-byte UTF-8 characters;
 * - `{ everyBytes: n }`: writes of `n` bytes;
 * - a function returning byte offsets into `frame` at which to cut (offsets outside `1..length-1` are
 *   ignored), e.g. between the two bytes of `ö` or inside `data:`.
 */
export type FrameSplit =
  'frame' | 'byte' | { readonly everyBytes: number } | ((frame: Uint8Array, info: FrameInfo) => readonly number[]);

/** Encodes `event: <type>` + `data: <json>` + blank line, with `lineEnding` after each line. */
export function encodeFrame(payload: { readonly type: string }, lineEnding: LineEnding = '\n'): Buffer {
  return Buffer.from(`event: ${payload.type}${lineEnding}data: ${JSON.stringify(payload)}${lineEnding}${lineEnding}`);
}

/**
 * Cuts a frame into the pieces to write, per `split`. The pieces are views into `frame`, in order, and
 * together hold exactly its bytes.
 *
 * @throws RangeError when `everyBytes` is not a positive integer.
 */
export function splitFrame(frame: Buffer, split: FrameSplit, info: FrameInfo): Buffer[] {
  if (split === 'frame') return [frame];
  let cuts: readonly number[];
  if (split === 'byte') {
    cuts = Array.from({ length: frame.length - 1 }, (_, i) => i + 1);
  } else if (typeof split === 'function') {
    cuts = split(frame, info);
  } else {
    const size = split.everyBytes;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`everyBytes must be a positive integer, got ${size}`);
    }
    cuts = Array.from({ length: Math.ceil(frame.length / size) - 1 }, (_, i) => (i + 1) * size);
  }
  const ordered = [...new Set(cuts)]
    .filter((cut) => Number.isInteger(cut) && cut > 0 && cut < frame.length)
    .sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of ordered) {
    pieces.push(frame.subarray(start, cut));
    start = cut;
  }
  pieces.push(frame.subarray(start));
  return pieces;
}
