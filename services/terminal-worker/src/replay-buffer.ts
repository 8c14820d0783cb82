/** One entry of a session's output history, in stream order. */
export type ReplayEntry =
  | { kind: 'output'; data: string; bytes: number; end: number }
  | { kind: 'resize'; cols: number; rows: number; end: number };

/** What {@link ReplayBuffer.since} returns. */
export interface Replay {
  /** The text after the requested position, whole characters only. */
  data: string;
  /** False when the position is older than the buffer: `data` then starts at {@link ReplayBuffer.start}. */
  complete: boolean;
}

/**
 * Why an attach was answered with the screen mirror's snapshot rather than a replay alone:
 * `evicted`, the client's position is older than the buffer (it was away while more than
 * the buffer's size of output passed); `no_position`, it gave none (a restored window,
 * `terminal:reconnect`) and the buffer no longer starts at 0.
 */
export const SNAPSHOT_REASONS = ['evicted', 'no_position'] as const;
export type SnapshotReason = (typeof SNAPSHOT_REASONS)[number];

/** What a session's replay buffer tells its owner as it happens (the worker counts it in its metrics). */
export interface ReplayObserver {
  /** `bytes` of output left the buffer to make room (the screen mirror holds what they left behind). */
  evicted(bytes: number): void;
  /** An attach was answered with a snapshot, for `reason`. */
  snapshot(reason: SnapshotReason): void;
}

/** First byte of a UTF-8 continuation (10xxxxxx). */
const CONTINUATION_MASK = 0xc0;
const CONTINUATION_BITS = 0x80;

/**
 * A session's recent output, bounded in bytes (UTF-8 of the text sent). Positions are
 * the session's `seq`: bytes since the session started. Evicted entries go to
 * `onEvict` in order (the screen mirror keeps the state they leave behind), so the
 * buffer plus the mirror always describe the whole stream.
 */
export class ReplayBuffer {
  private entries: ReplayEntry[] = [];
  private head = 0;
  private retainedBytes = 0;
  private startSeq = 0;
  private endSeq = 0;

  constructor(
    private readonly capacityBytes: number,
    private readonly onEvict: (entry: ReplayEntry) => void,
  ) {}

  /** Position of the oldest byte still held. */
  get start(): number {
    return this.startSeq;
  }

  /** Position after the newest byte. */
  get end(): number {
    return this.endSeq;
  }

  /** Appends a chunk whose UTF-8 length is `bytes`. */
  append(data: string, bytes: number): void {
    this.endSeq += bytes;
    this.entries.push({ kind: 'output', data, bytes, end: this.endSeq });
    this.retainedBytes += bytes;
    this.evict();
  }

  /** Records a size change at the current position, so the mirror applies it in order. */
  resize(cols: number, rows: number): void {
    this.entries.push({ kind: 'resize', cols, rows, end: this.endSeq });
  }

  /** The output after position `seq` (clamped to what is held). */
  since(seq: number): Replay {
    const complete = seq >= this.startSeq;
    const from = Math.min(Math.max(seq, this.startSeq), this.endSeq);
    const parts: string[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.kind !== 'output' || entry.end <= from) continue;
      const entryStart = entry.end - entry.bytes;
      parts.push(entryStart >= from ? entry.data : sliceBytes(entry.data, from - entryStart));
    }
    return { data: parts.join(''), complete };
  }

  /**
   * What an attach from `since` is answered with: the output after it, and why the screen
   * mirror's snapshot must come first when the buffer no longer reaches back that far. A
   * client without a position has nothing, so it is answered from 0: a replay of the whole
   * stream while nothing has been evicted, else a snapshot.
   */
  forAttach(since: number | undefined): { data: string; snapshot: SnapshotReason | undefined } {
    const { data, complete } = this.since(since ?? 0);
    if (complete) return { data, snapshot: undefined };
    return { data, snapshot: since === undefined ? 'no_position' : 'evicted' };
  }

  private evict(): void {
    while (this.retainedBytes > this.capacityBytes && this.head < this.entries.length) {
      const entry = this.entries[this.head]!;
      this.entries[this.head] = undefined as unknown as ReplayEntry;
      this.head++;
      if (entry.kind === 'output') {
        this.retainedBytes -= entry.bytes;
        this.startSeq = entry.end;
      }
      this.onEvict(entry);
    }
    // Compact now and then so the array does not grow with every chunk ever sent.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * `text` without its first `skipBytes` UTF-8 bytes. A cut inside a character moves
 * forward to the next character start, so no half character is ever produced (P01).
 */
function sliceBytes(text: string, skipBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  let at = skipBytes;
  while (at < bytes.length && (bytes[at]! & CONTINUATION_MASK) === CONTINUATION_BITS) at++;
  return bytes.subarray(at).toString('utf8');
}
