import type { AsciicastWriter } from './asciicast-writer';
import { ReplayBuffer, type ReplayObserver, type SnapshotReason } from './replay-buffer';
import { ScreenMirror } from './screen-mirror';
import { screenText } from './screen-text';

/** The most rows {@link PrintedOutput.printedText} renders (a bound on its work; the replay buffer holds less anyway). */
const MAX_PRINTED_ROWS = 100_000;
/** OSC 0 / OSC 2: set window title, ended by BEL or ST. */
const TITLE_PATTERN = /\x1b\][02];([^\x07\x1b]*)(?:\x07|\x1b\\)/g;

/** How much of what a session printed is kept (from configuration). */
export interface PrintedLimits {
  /** Replay buffer size (bytes). */
  replayBytes: number;
  /** Scrollback lines the screen mirror keeps for snapshots. */
  scrollback: number;
}

/**
 * What one session has printed, kept for whoever comes later: the replay buffer, the
 * screen mirror behind it (decision 0004), the window title, and the session's recording
 * if it has one. Positions are bytes of UTF-8 output since the start (`seq`).
 */
export class PrintedOutput {
  /** The last window title the shell set (OSC 0/2). */
  title: string | undefined;
  private readonly replay: ReplayBuffer;
  private readonly mirror: ScreenMirror;
  private snapshotInFlight: Promise<string> | undefined;

  constructor(
    private cols: number,
    private rows: number,
    limits: PrintedLimits,
    observer: Pick<ReplayObserver, 'evicted'>,
    /** Where the session is recorded, if it is (closed by {@link dispose}). */
    private readonly recording?: AsciicastWriter,
  ) {
    this.mirror = new ScreenMirror(cols, rows, limits.scrollback);
    this.replay = new ReplayBuffer(limits.replayBytes, (entry) => {
      if (entry.kind === 'resize') return this.mirror.resize(entry.cols, entry.rows);
      this.mirror.write(entry.data);
      observer.evicted(entry.bytes);
    });
  }

  /** The position after everything printed (bytes). */
  get end(): number {
    return this.replay.end;
  }

  /** Keeps `data` (`bytes` long in UTF-8) as it leaves for the clients; returns the position after it. */
  append(data: string, bytes: number): number {
    this.replay.append(data, bytes);
    this.recording?.output(data);
    if (data.includes('\x1b]')) for (const match of data.matchAll(TITLE_PATTERN)) this.title = match[1];
    return this.replay.end;
  }

  /** The terminal was resized: what follows is drawn at `cols`×`rows`. */
  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.replay.resize(cols, rows);
    this.recording?.resize(cols, rows);
  }

  /** Input typed into the session (recorded only where `TERMINAL_RECORD_INPUT` is on). */
  typed(data: string): void {
    this.recording?.input(data);
  }

  /**
   * What a client at `since` lacks: the output after it, or, when the buffer no longer
   * reaches back to it (or it is absent), the mirror's screen followed by the buffer.
   */
  async since(since: number | undefined): Promise<{ data: string; snapshot: SnapshotReason | undefined }> {
    const replay = this.replay.forAttach(since);
    if (!replay.snapshot) return replay;
    return { data: (await this.snapshotOnce()) + replay.data, snapshot: replay.snapshot };
  }

  /** The screen and at most `scrollback` lines above it, as text (see {@link screenText}). */
  async screen(scrollback: number): Promise<string> {
    return screenText((await this.since(0)).data, this.cols, this.rows, scrollback);
  }

  /**
   * The end of what was printed, as screen text of at most `maxBytes` UTF-8 bytes (whole
   * characters): what the assistant's `run_command` gets back. `truncated`: the text is
   * only the end (the cap cut it, or the buffer no longer held the start).
   */
  async printedText(maxBytes: number): Promise<{ text: string; truncated: boolean }> {
    const { data, complete } = this.replay.since(0);
    // Scrollback counts rows: a line wraps into as many as its length needs (at most one
    // per `cols` characters, plus its own), so this many hold all of `data`.
    const rowsNeeded = lineCount(data) + Math.ceil(data.length / this.cols);
    const scrollback = Math.min(rowsNeeded, MAX_PRINTED_ROWS);
    const text = await screenText(data, this.cols, this.rows, scrollback);
    const tail = utf8Tail(text, maxBytes);
    return { text: tail, truncated: !complete || rowsNeeded > scrollback || tail.length < text.length };
  }

  /** Releases the mirror and closes the recording (the replay stays readable). */
  dispose(): void {
    this.mirror.dispose();
    this.recording?.close();
  }

  /** The mirror's snapshot; concurrent attaches (a reload restoring many windows, or abuse) share one parse. */
  private snapshotOnce(): Promise<string> {
    this.snapshotInFlight ??= this.mirror.snapshot().finally(() => {
      this.snapshotInFlight = undefined;
    });
    return this.snapshotInFlight;
  }
}

/** Lines in `data` (its line feeds, plus one). */
function lineCount(data: string): number {
  let count = 1;
  for (let at = data.indexOf('\n'); at !== -1; at = data.indexOf('\n', at + 1)) count++;
  return count;
}

/** The end of `text`, at most `maxBytes` UTF-8 bytes, starting at a whole character. */
function utf8Tail(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let start = bytes.length - maxBytes;
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++; // not inside a character
  return bytes.subarray(start).toString('utf8');
}
