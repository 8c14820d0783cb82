// No schema here: the page imports this at run time, and zod must stay out of its bundle.

/** First and last UTF-16 code units of each half of a surrogate pair. */
const HIGH_SURROGATE_FIRST = 0xd800;
const HIGH_SURROGATE_LAST = 0xdbff;
const LOW_SURROGATE_FIRST = 0xdc00;
const LOW_SURROGATE_LAST = 0xdfff;

/**
 * Length of `text` in UTF-8 bytes — the unit of `seq` — without encoding it; a lone
 * surrogate counts as U+FFFD (3 bytes), as encoders write it. A `terminal:output` chunk
 * covers the positions `seq - utf8Length(data)` to `seq`.
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= HIGH_SURROGATE_FIRST && unit <= HIGH_SURROGATE_LAST) {
      const next = text.charCodeAt(i + 1);
      if (next >= LOW_SURROGATE_FIRST && next <= LOW_SURROGATE_LAST) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
