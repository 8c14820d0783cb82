import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import type { DestinationStream } from 'pino';

/**
 * Log bytes held in memory while standard output's reader is not reading (1 MiB): enough
 * for a reader that is merely slow to catch up, small against a service's memory.
 */
export const LOG_BUFFER_BYTES = 1024 * 1024;

const STDOUT_FD = 1;

/**
 * Where log lines go: standard output, written so that a reader that stops reading can
 * never stop the process. pino's default writes with a blocking `write(2)`: when the
 * reader of a pipe stops (a stopped supervisor, a launcher that died while its pipe's read
 * end lives on elsewhere), the pipe fills, the write blocks, and with it the event loop:
 * no drain, no shutdown timer, no reaction to further signals.
 *
 * When standard output is a pipe or a socket, it is opened as a non-blocking stream
 * instead (as libuv opens any pipe): a line is written at once when the pipe has room,
 * held in memory when it has none, and dropped, counted, once {@link LOG_BUFFER_BYTES}
 * are held; when the reader catches up, one line says how many were dropped. A reader
 * that is gone (EPIPE) costs nothing. A terminal or a file is written as pino does.
 *
 * @returns a pino destination, or undefined for pino's own (terminal, file)
 */
export function stdoutDestination(): DestinationStream | undefined {
  shared ??= openStdout();
  return shared ?? undefined;
}

/** One stream on standard output for the whole process, whatever number of loggers. */
let shared: DestinationStream | null | undefined;

function openStdout(): DestinationStream | null {
  let stat;
  try {
    stat = fstatSync(STDOUT_FD);
  } catch {
    return null; // closed: pino's own destination reports what it can
  }
  if (!stat.isFIFO() && !stat.isSocket()) return null;
  const out = new Socket({ fd: STDOUT_FD, readable: false, writable: true });
  // Logging never keeps a process alive (lines pending at exit are lost, as with pino's own).
  out.unref();
  // EPIPE (the reader is gone) or a reset: logging must never take the process down.
  out.on('error', () => undefined);
  let dropped = 0;
  out.on('drain', () => {
    if (dropped === 0) return;
    const notice = { level: 40, time: new Date().toISOString(), pid: process.pid, dropped_lines: dropped };
    out.write(`${JSON.stringify({ ...notice, msg: 'log lines dropped: standard output was not being read' })}\n`);
    dropped = 0;
  });
  return {
    write(line: string) {
      if (out.destroyed) return;
      if (out.writableLength >= LOG_BUFFER_BYTES) {
        dropped++;
        return;
      }
      out.write(line);
    },
  };
}
