import { SerializeAddon } from '@xterm/addon-serialize';
import { Terminal } from '@xterm/headless';

/** How long output must pause before the mirror parses its backlog (ms). */
const IDLE_PARSE_DELAY_MS = 50;

/**
 * The most unparsed output the mirror holds (characters). Past it, the mirror starts
 * over from an empty screen instead of parsing: a session that floods this much between
 * pauses has scrolled its old screen away many times over, and what the client will see
 * is rebuilt from the newest output alone (the backlog plus the replay buffer).
 */
const MAX_BACKLOG_CHARS = 1024 * 1024;

type BacklogEntry = string | { cols: number; rows: number };

/**
 * A headless xterm.js kept in step with the output that left the replay buffer, so a
 * client whose position is older than the buffer gets the screen as it stood at the
 * buffer's start, then the buffer (decision 0004).
 *
 * Parsing is the costliest work a worker does (over half its CPU in a flood, measured by
 * the benchmark), so evicted output is only queued here and parsed when output pauses
 * for {@link IDLE_PARSE_DELAY_MS}, or at once when a snapshot is asked for. A flood that
 * outruns {@link MAX_BACKLOG_CHARS} makes the mirror start over instead of parsing it.
 */
export class ScreenMirror {
  private terminal: Terminal;
  private serializer: SerializeAddon;
  /**
   * The screen must start over from empty, at this size, before the backlog is parsed:
   * set when a flood outran {@link MAX_BACKLOG_CHARS}, acted on at the next parse, so a
   * flood that outruns it many times over makes one new terminal, not one per megabyte.
   */
  private startOverAt: { cols: number; rows: number } | undefined;
  private backlog: BacklogEntry[] = [];
  private backlogChars = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private cols: number,
    private rows: number,
    private readonly scrollback: number,
  ) {
    [this.terminal, this.serializer] = this.createTerminal();
  }

  write(data: string): void {
    this.backlog.push(data);
    this.backlogChars += data.length;
    if (this.backlogChars > MAX_BACKLOG_CHARS) this.startOver();
    this.parseWhenIdle();
  }

  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.backlog.push({ cols, rows });
    this.parseWhenIdle();
  }

  /** The screen and scrollback as escape sequences, once everything queued is parsed. */
  async snapshot(): Promise<string> {
    this.parseBacklog();
    await new Promise<void>((resolve) => this.terminal.write('', resolve));
    return this.serializer.serialize();
  }

  dispose(): void {
    clearTimeout(this.idleTimer);
    this.backlog = [];
    this.terminal.dispose();
  }

  private createTerminal(size = { cols: this.cols, rows: this.rows }): [Terminal, SerializeAddon] {
    // A named import is right here: we compile to CommonJS, and the package sets __esModule
    // (a named import throws only in native ESM, where the package has no exports map).
    const terminal = new Terminal({
      cols: size.cols,
      rows: size.rows,
      scrollback: this.scrollback,
      allowProposedApi: true,
    });
    const serializer = new SerializeAddon();
    terminal.loadAddon(serializer as unknown as Parameters<typeof terminal.loadAddon>[0]);
    return [terminal, serializer];
  }

  private parseWhenIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.parseBacklog(), IDLE_PARSE_DELAY_MS);
  }

  private parseBacklog(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.startOverAt) {
      this.terminal.dispose();
      [this.terminal, this.serializer] = this.createTerminal(this.startOverAt);
      this.startOverAt = undefined;
    }
    for (const entry of this.backlog) {
      if (typeof entry === 'string') this.terminal.write(entry);
      else this.terminal.resize(entry.cols, entry.rows);
    }
    this.backlog = [];
    this.backlogChars = 0;
  }

  private startOver(): void {
    this.startOverAt = { cols: this.cols, rows: this.rows };
    this.backlog = [];
    this.backlogChars = 0;
  }
}
