/**
 * Splits `text` into the pieces a stream sends as `text_delta`s; joining the pieces gives back `text`
 * exactly.
 *
 * With `count`, the text is cut into `count` pieces of near-equal length (fewer when the text has fewer
 * code points), never inside a surrogate pair, so every piece is valid UTF-16 and encodes to valid UTF-8.
 * Without it, each piece is one word with the whitespace before it, which is roughly how the model streams.
 *
 * @throws RangeError when `count` is not a positive integer.
 */
export function chunkText(text: string, count?: number): string[] {
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
    throw new RangeError(`chunk count must be a positive integer, got ${count}`);
  }
  if (text === '') return [];
  if (count === undefined) return text.match(/\s*\S+|\s+$/gu) ?? [text];

  const points = Array.from(text);
  const pieces = Math.min(count, points.length);
  const out: string[] = [];
  for (let i = 0; i < pieces; i++) {
    const start = Math.floor((i * points.length) / pieces);
    const end = Math.floor(((i + 1) * points.length) / pieces);
    out.push(points.slice(start, end).join(''));
  }
  return out;
}
