/** The text of delta `i` of the scripted AI reply: short, like a token or two of a real one. */
export function deltaText(i: number): string {
  return `word${i % 10} `;
}

/** Every delta of a scripted reply of `chunks` deltas. */
export function scriptedDeltas(chunks: number): string[] {
  return Array.from({ length: chunks }, (_, i) => deltaText(i));
}
