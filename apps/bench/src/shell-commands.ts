/**
 * What the benchmark's shells run, typed the same way into every path (node-pty in
 * process, embedded, cluster), so the paths differ only in what carries the bytes.
 */

/** The shell: bash without rc files, so start-up is the same on every machine. */
export const BENCH_SHELL = '/bin/bash';
export const BENCH_SHELL_ARGS = ['--norc', '--noprofile'];

/** Printed when a command has started; typed as `RE''ADY` so the echo of the typed line never matches. */
export const READY_MARK = 'READY';
/** Printed after the flood; typed as `DO''NE` for the same reason. */
export const DONE_MARK = 'DONE';

/** Makes the shell ready to type into and say so. */
export const READY_COMMAND = "echo RE''ADY\r";

/** The keystroke echo: the terminal in raw mode without echo, and `cat` sending back each byte it reads. */
export const CAT_COMMAND = "stty raw -echo; echo RE''ADY; exec cat\r";

/** The output flood: `bytes` letters `a`, then the done mark. */
export function floodCommand(bytes: number): string {
  return `head -c ${bytes} /dev/zero | tr '\\0' a; echo; echo DO''NE\r`;
}

/** The keystroke sent in the echo figure. */
export const KEY = 'x';

/** How long output must stay quiet after the ready mark before measuring starts (ms). */
export const QUIET_MS = 150;
