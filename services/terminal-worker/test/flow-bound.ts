/**
 * The most one PTY read can deliver (bytes): libuv reads a stream into a 64 KiB buffer.
 * Flow control looks again after every read, so the read that crosses the high watermark
 * is all it can overshoot by.
 */
export const ONE_READ_BYTES = 64 * 1024;

/**
 * The most unacknowledged output flow control may hold for one session: the high
 * watermark (`TERMINAL_FLOW_HIGH_BYTES`, README) plus the read that crossed it.
 */
export function unackedBound(config: { TERMINAL_FLOW_HIGH_BYTES: number }): number {
  return config.TERMINAL_FLOW_HIGH_BYTES + ONE_READ_BYTES;
}

/** Bytes of a flood `windows` high watermarks long: enough that a client that does not ack falls far behind. */
export function windowsOfOutput(config: { TERMINAL_FLOW_HIGH_BYTES: number }, windows: number): number {
  return windows * config.TERMINAL_FLOW_HIGH_BYTES;
}

/** A flood of `bytes` z's, then a line `FLOOD-DONE`, as typed into bash. */
export function floodCommand(bytes: number): string {
  return `head -c ${bytes} /dev/zero | tr '\\0' z; echo; echo FLOOD-DONE`;
}

/** The z's of a flood in `text` (the typed command's own echo has no run of three). */
export function floodBytes(text: string): number {
  return (text.match(/z{3,}/g) ?? []).join('').length;
}

/** The first sample of `name` in Prometheus text (whatever its labels); throws when absent. */
export function sampleOf(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (line === undefined) throw new Error(`no sample of ${name}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}
