import type { TerminalOutputEvent } from '@ctos/protocol';
import { FitAddon } from '@xterm/addon-fit';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import type { AppSocket } from './socket-client';

/** Acknowledge rendered output every this many bytes (VS Code's 5,000). */
const ACK_EVERY_BYTES = 5000;

/**
 * One terminal window's xterm.js bound to a session: created at the window's real size,
 * re-attached with its last `seq` after every reconnect (nothing lost or doubled), and
 * acknowledging rendered bytes so a flood never freezes the tab.
 */
export class TerminalView {
  readonly term: Terminal;
  sessionId: string | undefined;
  /** Position after the last output handed to xterm. */
  private seq = 0;
  private acked = 0;
  private attaching = false;
  private early: TerminalOutputEvent[] = [];
  private readonly fit = new FitAddon();
  private readonly disposers: Array<() => void> = [];
  private ended = false;

  constructor(
    private readonly socket: AppSocket,
    container: HTMLElement,
    private readonly onStatus: (text: string) => void,
  ) {
    this.term = new Terminal({
      allowProposedApi: true,
      cursorBlink: true,
      fontFamily: '"JetBrains Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      scrollback: 5000,
      theme: { background: '#16181d', foreground: '#e6e6e6' },
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(new WebLinksAddon());
    const unicode = new Unicode11Addon();
    this.term.loadAddon(unicode);
    this.term.unicode.activeVersion = '11'; // wide emoji take two cells, as on the host (P08)
    this.term.open(container);
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => webgl.dispose());
      this.term.loadAddon(webgl);
    } catch {
      // No WebGL (headless, old GPU): xterm's DOM renderer is used.
    }
    this.fit.fit();

    const onOutput = (event: TerminalOutputEvent): void => {
      if (event.session_id !== this.sessionId) return;
      if (this.attaching) this.early.push(event);
      else this.write(event.data, event.seq);
    };
    const onClosed = (event: { session_id: string; reason: string; exit_code?: number }): void => {
      if (event.session_id !== this.sessionId) return;
      this.ended = true;
      const how = event.reason === 'exit' ? `exited with code ${event.exit_code ?? '?'}` : event.reason;
      this.term.write(`\r\n\x1b[90m[session ended: ${how}]\x1b[0m\r\n`);
      this.onStatus('ended');
    };
    const onConnect = (): void => {
      if (this.sessionId && !this.ended) void this.attach(this.sessionId);
    };
    socket.on('terminal:output', onOutput);
    socket.on('terminal:closed', onClosed);
    socket.io.on('reconnect', onConnect);
    this.disposers.push(
      () => socket.off('terminal:output', onOutput),
      () => socket.off('terminal:closed', onClosed),
      () => socket.io.off('reconnect', onConnect),
    );
    const input = this.term.onData((data) => {
      if (this.sessionId && !this.ended) socket.emit('terminal:input', { session_id: this.sessionId, data });
    });
    const resize = this.term.onResize(({ cols, rows }) => {
      if (this.sessionId && !this.ended) socket.emit('terminal:resize', { session_id: this.sessionId, cols, rows });
    });
    const title = this.term.onTitleChange((text) => (document.title = text || 'ChingTech OS'));
    this.disposers.push(
      () => input.dispose(),
      () => resize.dispose(),
      () => title.dispose(),
    );
    const observer = new ResizeObserver(() => this.fit.fit());
    observer.observe(container);
    this.disposers.push(() => observer.disconnect());
  }

  /** Starts a new session at the window's size. */
  async create(): Promise<void> {
    this.fit.fit();
    const response = await this.socket.emitWithAck('terminal:create', {
      cols: this.term.cols,
      rows: this.term.rows,
      flow_control: true,
    });
    if (!response.success) throw new Error(response.error);
    this.sessionId = response.session_id;
    this.seq = 0;
    this.onStatus('connected');
  }

  /** Joins an existing session, getting what this view lacks after its position. */
  async attach(sessionId: string): Promise<void> {
    const fresh = this.sessionId !== sessionId;
    this.sessionId = sessionId;
    this.attaching = true;
    this.early = [];
    try {
      const response = await this.socket.emitWithAck('terminal:attach', {
        session_id: sessionId,
        ...(fresh ? {} : { since: this.seq }),
        flow_control: true,
      });
      if (!response.success) {
        this.ended = true;
        this.term.write(`\r\n\x1b[33m${response.error}\x1b[0m\r\n`);
        this.onStatus('ended');
        return;
      }
      if (response.snapshot) this.term.reset();
      this.write(response.data, response.seq);
      for (const event of this.early) if (event.seq > this.seq) this.write(event.data, event.seq);
      this.onStatus('connected');
      if (this.term.cols !== response.cols || this.term.rows !== response.rows) {
        this.socket.emit('terminal:resize', { session_id: sessionId, cols: this.term.cols, rows: this.term.rows });
      }
    } finally {
      this.attaching = false;
      this.early = [];
    }
  }

  dispose(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
    this.term.dispose();
  }

  private write(data: string, seq: number): void {
    if (seq <= this.seq) return; // already shown: a replay overlapping live output
    this.seq = seq;
    this.term.write(data, () => {
      if (seq - this.acked < ACK_EVERY_BYTES || !this.sessionId) return;
      this.acked = seq;
      this.socket.emit('terminal:ack', { session_id: this.sessionId, seq });
    });
  }
}
