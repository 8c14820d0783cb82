import type { EchoPath } from './echo-loop';
import { CAT_COMMAND, DONE_MARK, floodCommand, KEY, QUIET_MS, READY_COMMAND, READY_MARK } from './shell-commands';

/** A mark not printed within this long (ms) means the path is broken, not slow. */
const MARK_TIMEOUT_MS = 15_000;
/** A flood that delivers nothing for this long (ms) is stuck. */
const STALL_TIMEOUT_MS = 30_000;
/** How often the flood's watchdog looks for a stall (ms). */
const WATCHDOG_MS = 1000;
/** Characters of output kept to look for a mark that may be split across chunks. */
const TAIL_CHARS = 64;

/**
 * One terminal as a benchmark client sees it, whatever carries the bytes: node-pty in
 * this process, our Socket.IO protocol, or a peer's (wetty). Figures 1, 2 and 7 type into
 * it and read it only through this, so the paths differ only in what carries the bytes.
 */
export interface TerminalLink {
  /** Types `data` into the terminal. */
  write(data: string): void;
  /**
   * Calls `listener` with each chunk of output, once that path's own client has done
   * with it what it does on arrival (acknowledge it, when it acknowledges output);
   * returns a function that stops listening.
   */
  onOutput(listener: (data: string) => void): () => void;
}

/** A terminal (a fresh shell) opened for one measurement, and how to close it with what carried it. */
export interface OpenedTerminal {
  link: TerminalLink;
  close(): Promise<void>;
}

/**
 * One way to a terminal: a key for `latest.json` (`pty`, `wetty`, `embedded`, `cluster`),
 * a label for the table, and how to open a fresh terminal on it. `flowControl` asks for a
 * session whose output is paced by the client's acknowledgements (our protocol's
 * `flow_control`); paths whose client always acknowledges ignore it.
 */
export interface TerminalPath extends PathName {
  open(flowControl: boolean): Promise<OpenedTerminal>;
}

/** A path's names: its key in `latest.json` and its label in the table. */
export interface PathName {
  key: string;
  label: string;
}

/**
 * Opens a terminal on `path`, runs `use` on it and closes it. A failure of `use` is what
 * is thrown, not a failure to close after it.
 */
export async function withTerminal<T>(
  path: TerminalPath,
  flowControl: boolean,
  use: (link: TerminalLink) => Promise<T>,
): Promise<T> {
  const terminal = await path.open(flowControl);
  let result: T;
  try {
    result = await use(terminal.link);
  } catch (error) {
    await terminal.close().catch(() => undefined); // the error that matters is the one above
    throw error;
  }
  await terminal.close();
  return result;
}

/**
 * Types `command` and resolves once `mark` has been printed and the output has then
 * been quiet for QUIET_MS.
 * @throws Error after MARK_TIMEOUT_MS.
 */
export function typeAndWait(link: TerminalLink, command: string, mark: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let tail = '';
    let seen = false;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (error?: Error): void => {
      clearTimeout(quiet);
      clearTimeout(deadline);
      stop();
      if (error) reject(error);
      else resolve();
    };
    const stop = link.onOutput((data) => {
      tail = (tail + data).slice(-TAIL_CHARS);
      if (!seen && tail.includes(mark)) seen = true;
      if (!seen) return;
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(), QUIET_MS);
    });
    const deadline = setTimeout(
      () =>
        finish(
          new Error(
            `the shell did not print ${mark} within ${MARK_TIMEOUT_MS} ms (last output ${JSON.stringify(tail)})`,
          ),
        ),
      MARK_TIMEOUT_MS,
    );
    link.write(command);
  });
}

/** Puts the terminal's shell into `stty raw -echo; exec cat`, ready for the echo loop. */
export function startCat(link: TerminalLink): Promise<void> {
  return typeAndWait(link, CAT_COMMAND, READY_MARK);
}

/** The keystroke path through a terminal: one key typed, any output back is its echo. */
export function echoPath(link: TerminalLink): EchoPath {
  return {
    send: () => link.write(KEY),
    listen: (onEcho) => link.onOutput(() => onEcho()),
  };
}

/** What a flood delivered. */
export interface FloodResult {
  /** Output bytes (UTF-8) received from typing the command to the done mark, its echo included. */
  bytes: number;
  /** From typing the command to receiving the done mark (ms). */
  ms: number;
  chunks: number;
}

/**
 * Runs the flood in the terminal and reads it to the done mark, as that path's client
 * reads (acknowledging as it does, see {@link TerminalLink.onOutput}).
 * @throws Error when output stalls for STALL_TIMEOUT_MS.
 */
export async function floodTerminal(link: TerminalLink, bytes: number): Promise<FloodResult> {
  await typeAndWait(link, READY_COMMAND, READY_MARK);
  return new Promise((resolve, reject) => {
    let tail = '';
    let received = 0;
    let chunks = 0;
    let lastProgress = performance.now();
    const started = performance.now();
    const finish = (error?: Error, result?: FloodResult): void => {
      clearInterval(watchdog);
      stop();
      if (error) reject(error);
      else resolve(result!);
    };
    const stop = link.onOutput((data) => {
      received += Buffer.byteLength(data, 'utf8');
      chunks++;
      lastProgress = performance.now();
      tail = (tail + data.slice(-TAIL_CHARS)).slice(-TAIL_CHARS);
      if (tail.includes(DONE_MARK)) finish(undefined, { bytes: received, ms: performance.now() - started, chunks });
    });
    const watchdog = setInterval(() => {
      if (performance.now() - lastProgress > STALL_TIMEOUT_MS) {
        finish(new Error(`the flood stalled: nothing for ${STALL_TIMEOUT_MS} ms`));
      }
    }, WATCHDOG_MS);
    link.write(floodCommand(bytes));
  });
}
