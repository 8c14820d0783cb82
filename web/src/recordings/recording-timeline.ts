import type { AsciicastEvent } from '@ctos/protocol';

/** A pause longer than this plays as this long (s), as asciinema's player's `idleTimeLimit` does. */
export const IDLE_CAP_SECONDS = 2;

/** One event of the timeline, at its playing time. */
export interface TimedEvent {
  /** When it plays (s from the start), long pauses capped. */
  at: number;
  kind: 'output' | 'resize';
  /** Output text, or the new size. */
  data: string;
  cols: number;
  rows: number;
}

/**
 * A recording's output and resizes on a playing clock: long pauses capped at
 * {@link IDLE_CAP_SECONDS}, input and markers left out (they change nothing on screen).
 * `events` must be in time order, as an asciicast file has them.
 */
export class RecordingTimeline {
  readonly events: TimedEvent[] = [];
  /** The playing time of the last event (s). */
  readonly duration: number;

  constructor(events: AsciicastEvent[]) {
    let at = 0;
    let previous = 0;
    for (const [time, code, data] of events) {
      at += Math.min(time - previous, IDLE_CAP_SECONDS);
      previous = time;
      if (code === 'o') this.events.push({ at, kind: 'output', data, cols: 0, rows: 0 });
      if (code === 'r') {
        const [cols, rows] = data.split('x').map(Number);
        if (cols && rows) this.events.push({ at, kind: 'resize', data, cols, rows });
      }
    }
    this.duration = at;
  }

  /** The index of the first event after `seconds`. */
  indexAfter(seconds: number): number {
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.events[middle]!.at <= seconds) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
