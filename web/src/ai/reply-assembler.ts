/** What {@link ReplyAssembler.accept} made of a chunk. */
export type ChunkOutcome = 'added' | 'duplicate' | 'gap';

/**
 * Puts a streamed reply back together from its indexed chunks: each index is used once
 * (a resume that overlaps live chunks doubles nothing), and a chunk that arrives ahead
 * of a missing one waits until the gap is filled (by `ai:resume`). Pure.
 */
export class ReplyAssembler {
  private readonly ahead = new Map<number, string>();
  private textNow = '';
  private next = 0;

  /** The text of every chunk up to the first gap. */
  get text(): string {
    return this.textNow;
  }

  /** Index of the last chunk in {@link text}, -1 before the first: the `since` of a resume. */
  get lastIndex(): number {
    return this.next - 1;
  }

  /** True while a chunk after a missing one is waiting. */
  get hasGap(): boolean {
    return this.ahead.size > 0;
  }

  accept(index: number, chunk: string): ChunkOutcome {
    if (!Number.isInteger(index) || index < this.next || this.ahead.has(index)) return 'duplicate';
    this.ahead.set(index, chunk);
    for (let piece = this.ahead.get(this.next); piece !== undefined; piece = this.ahead.get(this.next)) {
      this.textNow += piece;
      this.ahead.delete(this.next);
      this.next += 1;
    }
    return this.ahead.size > 0 ? 'gap' : 'added';
  }
}
