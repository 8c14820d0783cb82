import { SerializeAddon } from '@xterm/addon-serialize';
import { Terminal } from '@xterm/headless';

/**
 * A headless xterm.js kept in step with the output that left the replay buffer, so a
 * client whose position is older than the buffer gets the screen as it stood at the
 * buffer's start, then the buffer. It parses each byte once, on eviction — a session
 * whose output fits in the buffer costs nothing here.
 */
export class ScreenMirror {
  private readonly terminal: Terminal;
  private readonly serializer = new SerializeAddon();

  constructor(cols: number, rows: number, scrollback: number) {
    // A named import is right here: we compile to CommonJS, and the package sets __esModule
    // (MACHINE-NOTES' default-import advice is for native ESM).
    this.terminal = new Terminal({ cols, rows, scrollback, allowProposedApi: true });
    this.terminal.loadAddon(this.serializer as unknown as Parameters<typeof this.terminal.loadAddon>[0]);
  }

  write(data: string): void {
    this.terminal.write(data);
  }

  resize(cols: number, rows: number): void {
    this.terminal.resize(cols, rows);
  }

  /** The screen and scrollback as escape sequences, once every write so far is parsed. */
  async snapshot(): Promise<string> {
    await new Promise<void>((resolve) => this.terminal.write('', resolve));
    return this.serializer.serialize();
  }

  dispose(): void {
    this.terminal.dispose();
  }
}
