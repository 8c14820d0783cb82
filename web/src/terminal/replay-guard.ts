import type { Disposable, DisposableStore } from '@ctos/protocol';
import type { IFunctionIdentifier, Terminal } from '@xterm/xterm';

/**
 * The control sequences xterm.js answers by sending input (ECMA-48 and xterm's
 * ctlseqs): device status and cursor position (`CSI n`, `CSI ? n`), device attributes
 * (`CSI c`, `CSI > c`, `CSI = c`), mode requests (DECRQM `CSI $ p`, `CSI ? $ p`),
 * window reports (`CSI t`), the version (`CSI > q`), focus reporting turned on
 * (`CSI ? 1004 h` reports the focus at once), colour queries (OSC 4, 10, 11, 12) and
 * setting requests (DECRQSS, `DCS $ q`).
 */
const ANSWERED_CSI: readonly IFunctionIdentifier[] = [
  { final: 'n' },
  { prefix: '?', final: 'n' },
  { final: 'c' },
  { prefix: '>', final: 'c' },
  { prefix: '=', final: 'c' },
  { intermediates: '$', final: 'p' },
  { prefix: '?', intermediates: '$', final: 'p' },
  { final: 't' },
  { prefix: '>', final: 'q' },
  { prefix: '?', final: 'h' },
];
const ANSWERED_OSC: readonly number[] = [4, 10, 11, 12];
const ANSWERED_DCS: readonly IFunctionIdentifier[] = [{ intermediates: '$', final: 'q' }];

/**
 * Keeps replayed output from typing into the shell. Programs ask the terminal questions
 * (vim and less ask for the cursor position, prompts for the background colour), and
 * xterm.js answers by sending input. Asked live, the program reads the answer; replayed
 * after a reload or a reconnect, nobody is waiting, and the answer would land in the
 * shell as typed text (`bash: 2c1R1: command not found`, issue 22).
 *
 * How: {@link write} brackets the replay in the write queue with two callbacks, so the
 * guard knows exactly when xterm parses it. Parser hooks on every answered sequence
 * ({@link ANSWERED_CSI}…) mark "an answer is coming" only inside that bracket and let
 * xterm handle the sequence as usual (so modes still take effect); {@link admits} then
 * refuses the answer. The mark ends with the bracket, within the same synchronous parse,
 * so neither a keystroke nor live output parsed afterwards is ever held back.
 */
export class ReplayGuard {
  private replaying = false;
  private answering = false;

  constructor(
    private readonly term: Terminal,
    store: DisposableStore,
  ) {
    const mark = (): false => {
      if (this.replaying) this.answering = true;
      return false; // xterm's own handler runs next
    };
    const hooks: Disposable[] = [
      ...ANSWERED_CSI.map((id) => term.parser.registerCsiHandler(id, mark)),
      ...ANSWERED_OSC.map((ident) => term.parser.registerOscHandler(ident, mark)),
      ...ANSWERED_DCS.map((id) => term.parser.registerDcsHandler(id, mark)),
    ];
    for (const hook of hooks) store.add(hook);
  }

  /**
   * Writes replayed output (a screen snapshot or the output after a position): the
   * questions in it are parsed, their answers never sent. `parsed` runs once xterm has
   * parsed `data`, as `Terminal.write`'s callback.
   */
  write(data: string, parsed?: () => void): void {
    this.term.write('', () => {
      this.replaying = true;
      this.answering = false;
    });
    this.term.write(data, () => {
      this.replaying = false;
      this.answering = false;
      parsed?.();
    });
  }

  /** Whether `Terminal.onData` input may go to the session: false for an answer to a replayed question. */
  admits(): boolean {
    return !this.answering;
  }
}
