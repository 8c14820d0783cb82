import type { TerminalOutputEvent } from '@ctos/protocol';
import type { ClientSocket } from '@ctos/testkit';
import type { EchoPath } from './echo-loop';
import { CAT_COMMAND, DONE_MARK, floodCommand, KEY, QUIET_MS, READY_COMMAND, READY_MARK } from './shell-commands';

/** An acknowledgement slower than this (ms) is a failure, not a figure. */
const ACK_TIMEOUT_MS = 15_000;
/** A flood that delivers nothing for this long (ms) is stuck. */
const STALL_TIMEOUT_MS = 30_000;
/** The web client acknowledges rendered output every this many bytes (web/src/terminal/terminal-view.ts). */
export const ACK_EVERY_BYTES = 5000;
/** Characters of output kept to look for a mark that may be split across chunks. */
const TAIL_CHARS = 64;

/**
 * Opens a terminal session on `socket` and returns its id and how long the
 * acknowledgement took (ms).
 * @throws Error with the gateway's code when it refuses (e.g. `UNAVAILABLE` when full).
 */
export async function createTerminal(
  socket: ClientSocket,
  flowControl: boolean,
): Promise<{ sessionId: string; ms: number }> {
  const started = performance.now();
  const answer = await socket
    .timeout(ACK_TIMEOUT_MS)
    .emitWithAck('terminal:create', { cols: 80, rows: 24, flow_control: flowControl });
  const ms = performance.now() - started;
  if (!answer.success) throw Object.assign(new Error(answer.error), { code: answer.code });
  return { sessionId: answer.session_id, ms };
}

/** Closes a session and waits for the acknowledgement. @throws Error when refused. */
export async function closeTerminal(socket: ClientSocket, sessionId: string): Promise<void> {
  const answer = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('terminal:close', { session_id: sessionId });
  if (!answer.success) throw Object.assign(new Error(answer.error), { code: answer.code });
}

/**
 * Types `command` and resolves once `mark` has been printed and the output has then
 * been quiet for QUIET_MS.
 * @throws Error after `timeoutMs`.
 */
export function typeAndWait(
  socket: ClientSocket,
  sessionId: string,
  command: string,
  mark: string,
  timeoutMs = ACK_TIMEOUT_MS,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let tail = '';
    let seen = false;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (error?: Error): void => {
      clearTimeout(quiet);
      clearTimeout(deadline);
      socket.off('terminal:output', onOutput);
      if (error) reject(error);
      else resolve();
    };
    const onOutput = (event: TerminalOutputEvent): void => {
      if (event.session_id !== sessionId) return;
      tail = (tail + event.data).slice(-TAIL_CHARS);
      if (!seen && tail.includes(mark)) seen = true;
      if (!seen) return;
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(), QUIET_MS);
    };
    const deadline = setTimeout(
      () =>
        finish(
          new Error(`the shell did not print ${mark} within ${timeoutMs} ms (last output ${JSON.stringify(tail)})`),
        ),
      timeoutMs,
    );
    socket.on('terminal:output', onOutput);
    socket.emit('terminal:input', { session_id: sessionId, data: command });
  });
}

/** Puts the session's shell into `stty raw -echo; exec cat`, ready for the echo loop. */
export function startCat(socket: ClientSocket, sessionId: string): Promise<void> {
  return typeAndWait(socket, sessionId, CAT_COMMAND, READY_MARK);
}

/** The keystroke path through the system: `terminal:input` out, `terminal:output` back. */
export function terminalEchoPath(socket: ClientSocket, sessionId: string): EchoPath {
  const input = { session_id: sessionId, data: KEY };
  return {
    send: () => socket.emit('terminal:input', input),
    listen(onEcho) {
      const onOutput = (event: TerminalOutputEvent): void => {
        if (event.session_id === sessionId) onEcho();
      };
      socket.on('terminal:output', onOutput);
      return () => socket.off('terminal:output', onOutput);
    },
  };
}

/** What a flood delivered. */
export interface FloodResult {
  /** Output bytes received from the command line to the done mark (seq difference). */
  bytes: number;
  /** From typing the command to receiving the done mark (ms). */
  ms: number;
  chunks: number;
}

/**
 * Runs the flood in a fresh shell and reads it as the web client does: acknowledging
 * (`terminal:ack`) every ACK_EVERY_BYTES, so flow control paces the PTY to this reader.
 * @throws Error when output stalls for STALL_TIMEOUT_MS.
 */
export async function floodTerminal(socket: ClientSocket, sessionId: string, bytes: number): Promise<FloodResult> {
  await typeAndWait(socket, sessionId, READY_COMMAND, READY_MARK);
  return new Promise((resolve, reject) => {
    let tail = '';
    let firstSeq: number | undefined;
    let acked = 0;
    let chunks = 0;
    let lastProgress = performance.now();
    const started = performance.now();
    const finish = (error?: Error, result?: FloodResult): void => {
      clearInterval(watchdog);
      socket.off('terminal:output', onOutput);
      if (error) reject(error);
      else resolve(result!);
    };
    const onOutput = (event: TerminalOutputEvent): void => {
      if (event.session_id !== sessionId) return;
      firstSeq ??= event.seq - Buffer.byteLength(event.data, 'utf8');
      chunks++;
      lastProgress = performance.now();
      if (event.seq - acked >= ACK_EVERY_BYTES) {
        acked = event.seq;
        socket.emit('terminal:ack', { session_id: sessionId, seq: event.seq });
      }
      tail = (tail + event.data.slice(-TAIL_CHARS)).slice(-TAIL_CHARS);
      if (tail.includes(DONE_MARK)) {
        finish(undefined, { bytes: event.seq - firstSeq, ms: performance.now() - started, chunks });
      }
    };
    const watchdog = setInterval(() => {
      if (performance.now() - lastProgress > STALL_TIMEOUT_MS) {
        finish(new Error(`the flood stalled: nothing for ${STALL_TIMEOUT_MS} ms`));
      }
    }, 1000);
    socket.on('terminal:output', onOutput);
    socket.emit('terminal:input', { session_id: sessionId, data: floodCommand(bytes) });
  });
}
