import { Terminal } from '@xterm/headless';

/**
 * Terminal output as a person reads it on screen: `data` (what the PTY wrote, escape
 * sequences and all) parsed by a headless xterm.js of `cols`×`rows` that keeps `scrollback`
 * lines, then read back as plain text — colours dropped, carriage-return progress bars
 * collapsed to their last state, lines the terminal wrapped joined again. Returns the
 * screen and at most `scrollback` lines above it, one line per `\n`, trailing blanks and
 * blank lines at the end trimmed.
 */
export async function screenText(data: string, cols: number, rows: number, scrollback: number): Promise<string> {
  const terminal = new Terminal({ cols, rows, scrollback, allowProposedApi: true });
  try {
    await new Promise<void>((resolve) => terminal.write(data, resolve));
    const buffer = terminal.buffer.active;
    const lines: string[] = [];
    for (let y = 0; y < buffer.length; y++) {
      const line = buffer.getLine(y)!;
      // A row the next one continues is full width: its trailing spaces are text.
      const text = line.translateToString(!buffer.getLine(y + 1)?.isWrapped);
      if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
      else lines.push(text);
    }
    while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
    return lines.join('\n');
  } finally {
    terminal.dispose();
  }
}
