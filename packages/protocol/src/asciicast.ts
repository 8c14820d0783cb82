/**
 * asciicast v2, the recording format of asciinema and its player
 * (https://docs.asciinema.org/manual/asciicast/v2/), which session recordings are written
 * in (issue 19). Browser-safe: the page's player and the tests read recordings with it.
 */

/** One asciicast v2 event: seconds since the start, its code (output, input, resize, marker), its data. */
export type AsciicastEvent = [number, 'o' | 'i' | 'r' | 'm', string];

/**
 * Parses a `.cast` file as asciicast v2 readers do (https://docs.asciinema.org/manual/asciicast/v2/):
 * a header line, then one JSON event per line, every line ended by `\n`.
 * @throws Error naming the first thing that is not so: a line that is not JSON, a header
 * that is not version 2, an event of the wrong shape, or times that go back.
 */
export function parseAsciicast(text: string): { header: Record<string, unknown>; events: AsciicastEvent[] } {
  if (!text.endsWith('\n')) throw new Error('the file does not end with a whole line');
  const [first, ...rest] = text.slice(0, -1).split('\n');
  const header = JSON.parse(first!) as Record<string, unknown>;
  if (header.version !== 2) throw new Error(`not asciicast v2: ${first}`);
  let last = 0;
  const events = rest.map((line, index) => {
    const event = JSON.parse(line) as unknown;
    if (
      !Array.isArray(event) ||
      event.length !== 3 ||
      typeof event[0] !== 'number' ||
      !['o', 'i', 'r', 'm'].includes(event[1]) ||
      typeof event[2] !== 'string'
    ) {
      throw new Error(`event ${index + 1} is not [time, code, data]: ${line.slice(0, 80)}`);
    }
    if (event[0] < last) throw new Error(`event ${index + 1} goes back in time`);
    last = event[0];
    return event as AsciicastEvent;
  });
  return { header, events };
}

/** The output events' data, concatenated: what the session's program wrote. */
export function asciicastOutput(events: AsciicastEvent[]): string {
  return events
    .filter(([, code]) => code === 'o')
    .map(([, , data]) => data)
    .join('');
}
