/** A chunk of terminal output as the server numbers it: `seq` is the position after it, in UTF-8 bytes. */
export interface OutputChunk {
  data: string;
  seq: number;
}

/** What an attach answered, as far as the stream is concerned. */
export interface ReplayAnswer {
  data: string;
  seq: number;
  snapshot: boolean;
}

/**
 * One session's output as a client holds it, checked byte by byte: every chunk must
 * start exactly where the stream ends. A chunk that starts later is a gap (bytes lost),
 * one that starts earlier an overlap (bytes repeated); both are recorded in
 * {@link errors}, never dropped in silence, so a test that reads the stream proves no
 * byte was lost or repeated.
 *
 * Two overlaps are expected, and handled by position as the web page does. A chunk sent
 * again whole, with the bytes it had, is listed in {@link repeats}. And attaching: while
 * an attach is answered, live output is held
 * ({@link beginAttach}); the replay must start exactly at the stream's end (or, for a
 * stream that holds nothing yet, anywhere: that is where it starts); then the held
 * output is applied, and a chunk lying wholly inside the replay is dropped as already
 * held — after its bytes were compared with the replay's, while the stream is raw bytes.
 * A snapshot replaces the stream with a serialized screen; positions then go on from it.
 */
export class TerminalStream {
  /** What a client renders: the stream's bytes from {@link base} (after a snapshot: the screen, then what followed). */
  text = '';
  /** Position after the last byte held (bytes). */
  seq = 0;
  /** Position of the first byte held; undefined until something arrived. */
  base: number | undefined;
  /** Live chunks appended. */
  chunks = 0;
  /** Chunks dropped because the last replay held them already. */
  covered = 0;
  /**
   * Chunks that came again, whole, at the positions they had, with the same bytes
   * (`from..to`): a worker sends a chunk again when it cannot know whether Redis took it
   * (its connection dropped before the answer), and a client drops it by position, as
   * the page does. Listed, not dropped in silence: a test decides whether its fault
   * allows them.
   */
  readonly repeats: string[] = [];
  /** Every gap, overlap or mismatch found, as a sentence; empty while the stream is whole. */
  readonly errors: string[] = [];
  /** Live output held while an attach is answered. */
  private held: OutputChunk[] | undefined;
  /** The range the last replay held (positions), for the chunks that raced it. */
  private replayed: { from: number; to: number } | undefined;
  /** True while {@link text} is the raw stream from {@link base} (no snapshot). */
  private raw = true;

  /** True while an attach is being answered. */
  get attaching(): boolean {
    return this.held !== undefined;
  }

  /** Call before sending `terminal:attach`: live output is held until {@link applyReplay}. Returns the `since` to send. */
  beginAttach(): number {
    this.held ??= [];
    return this.seq;
  }

  /** A live `terminal:output` chunk. */
  live(chunk: OutputChunk): void {
    if (this.held) this.held.push(chunk);
    else this.append(chunk);
  }

  /**
   * Applies an attach's answer, then the output held meanwhile. Without an answer (the
   * attach failed) output stays held for the next attempt, whose replay covers it.
   */
  applyReplay(answer: ReplayAnswer | undefined): void {
    if (!answer) return;
    const held = this.held ?? [];
    this.held = undefined;
    if (answer.snapshot) {
      this.text = answer.data;
      this.seq = answer.seq;
      this.base ??= 0;
      this.raw = false;
      this.replayed = { from: 0, to: answer.seq };
    } else if (answer.data === '') {
      // Nothing after `since`: a stream that holds nothing yet starts here.
      if (this.base === undefined) this.base = this.seq = answer.seq;
      else if (answer.seq > this.seq) this.errors.push(`an empty replay ends at ${answer.seq}, past ${this.seq}`);
    } else {
      const from = answer.seq - Buffer.byteLength(answer.data, 'utf8');
      if (this.base === undefined) {
        this.base = from;
        this.seq = from;
      }
      if (from !== this.seq) this.errors.push(`a replay starts at ${from}, the stream ends at ${this.seq}`);
      this.text += answer.data;
      this.seq = Math.max(this.seq, answer.seq);
      this.replayed = { from, to: answer.seq };
    }
    for (const chunk of held) this.append(chunk);
  }

  /** Throws when the stream is not whole, naming every gap and overlap. */
  assertWhole(): void {
    if (this.errors.length > 0) throw new Error(`the terminal stream is not whole: ${this.errors.join('; ')}`);
  }

  private append(chunk: OutputChunk): void {
    const bytes = Buffer.byteLength(chunk.data, 'utf8');
    const from = chunk.seq - bytes;
    if (this.base === undefined) {
      this.base = from;
      this.seq = from;
    }
    if (from === this.seq) {
      this.text += chunk.data;
      this.seq = chunk.seq;
      this.chunks++;
      return;
    }
    const replay = this.replayed;
    if (replay && from >= replay.from && chunk.seq <= replay.to) {
      // Emitted before the attach's hold, delivered after its replay: held already.
      this.covered++;
      if (this.raw && !this.holds(from, chunk.data)) {
        this.errors.push(`a chunk ${from}..${chunk.seq} differs from the replay's bytes there`);
      }
      return;
    }
    if (chunk.seq <= this.seq && this.raw && from >= (this.base ?? 0) && this.holds(from, chunk.data)) {
      this.repeats.push(`${from}..${chunk.seq}`);
      return;
    }
    this.errors.push(
      from > this.seq
        ? `bytes ${this.seq}..${from} are missing (a chunk ${from}..${chunk.seq} came next)`
        : `bytes ${from}..${Math.min(this.seq, chunk.seq)} came twice (a chunk ${from}..${chunk.seq} after ${this.seq})`,
    );
    if (chunk.seq > this.seq) {
      this.text += chunk.data;
      this.seq = chunk.seq;
    }
  }

  /** True when the stream holds `data` at position `from`. */
  private holds(from: number, data: string): boolean {
    const at = from - (this.base ?? 0);
    const expected = Buffer.from(data, 'utf8');
    return Buffer.from(this.text, 'utf8')
      .subarray(at, at + expected.length)
      .equals(expected);
  }
}
