import { closeSync, mkdirSync, openSync, write } from 'node:fs';
import path from 'node:path';
import type { AsciicastHeader } from '@ctos/runtime';

/** Folder and file modes: root's alone (users' shells must not read each other's sessions). */
const FOLDER_MODE = 0o700;
const FILE_MODE = 0o600;

/** The marker written when a recording reaches its size limit, and nothing after it. */
export const SIZE_LIMIT_MARKER = 'recording stopped: size limit reached';

/**
 * One session's recording in asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/),
 * written as the session runs: a header line, then one JSON line per event — `[time, "o",
 * data]` for output, `[time, "i", data]` for input, `[time, "r", "COLSxROWS"]` for a
 * resize, `[time, "m", label]` for a marker — `time` in seconds since the start.
 *
 * Append-only and written in whole lines, each batch in one `write(2)`: a worker killed
 * at any moment leaves a file that parses up to the last batch it wrote. At most
 * `maxBytes` bytes are written; the event that would pass it is replaced by a marker
 * ({@link SIZE_LIMIT_MARKER}) and the recording stops. Write errors (disk full) stop it
 * too, reported once through `onError`. Input is recorded only when `recordInput` is set
 * (`TERMINAL_RECORD_INPUT`: what was typed may include passwords typed without echo).
 */
export class AsciicastWriter {
  private readonly fd: number;
  private readonly started = performance.now();
  private queued: string[] = [];
  private writing = false;
  private bytes = 0;
  private stopped = false;
  private closeWhenWritten = false;
  private closed = false;

  /**
   * Creates the file (and its folder) at `file`; it must not exist.
   * @throws Error when it cannot be created.
   */
  constructor(
    file: string,
    header: AsciicastHeader,
    private readonly maxBytes: number,
    private readonly recordInput: boolean,
    private readonly onError: (error: unknown) => void,
  ) {
    mkdirSync(path.dirname(file), { recursive: true, mode: FOLDER_MODE });
    this.fd = openSync(file, 'wx', FILE_MODE);
    this.line(JSON.stringify(header));
  }

  output(data: string): void {
    this.event('o', data);
  }

  input(data: string): void {
    if (this.recordInput) this.event('i', data);
  }

  resize(cols: number, rows: number): void {
    this.event('r', `${cols}x${rows}`);
  }

  /** Writes what is queued, then closes the file. */
  close(): void {
    this.stopped = true;
    this.closeWhenWritten = true;
    if (!this.writing) this.closeFile();
  }

  private event(code: 'o' | 'i' | 'r' | 'm', data: string): void {
    if (this.stopped) return;
    const seconds = Math.round(performance.now() - this.started) / 1000;
    const line = JSON.stringify([seconds, code, data]);
    // Room is kept for the marker, so the limit holds with it written.
    const marker = JSON.stringify([seconds, 'm', SIZE_LIMIT_MARKER]);
    if (this.bytes + Buffer.byteLength(line, 'utf8') + Buffer.byteLength(marker, 'utf8') + 2 > this.maxBytes) {
      this.line(marker);
      this.stopped = true;
      return;
    }
    this.line(line);
  }

  private line(text: string): void {
    const line = `${text}\n`;
    this.bytes += Buffer.byteLength(line, 'utf8');
    this.queued.push(line);
    if (!this.writing) this.flush();
  }

  private flush(): void {
    if (this.queued.length === 0 || this.closed) {
      if (this.closeWhenWritten) this.closeFile();
      return;
    }
    const batch = Buffer.from(this.queued.join(''), 'utf8');
    this.queued = [];
    this.writing = true;
    this.writeAll(batch, 0);
  }

  private writeAll(batch: Buffer, offset: number): void {
    write(this.fd, batch, offset, batch.length - offset, null, (error, written) => {
      if (error) {
        this.writing = false;
        this.stopped = true;
        this.queued = [];
        this.onError(error);
        if (this.closeWhenWritten) this.closeFile();
        return;
      }
      if (offset + written < batch.length) return this.writeAll(batch, offset + written);
      this.writing = false;
      this.flush();
    });
  }

  private closeFile(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
