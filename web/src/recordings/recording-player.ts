import { DisposableStore, type AsciicastEvent } from '@ctos/protocol';
import type { Terminal } from '@xterm/xterm';
import { button, el } from '../dom';
import { addDisposableListener } from '../dom-listener';
import { bufferText, openXterm } from '../terminal/xterm-setup';
import { RecordingTimeline, type TimedEvent } from './recording-timeline';

/** Playing speeds offered, as multiples of real time. */
const SPEEDS = [0.5, 1, 2, 4, 8];
/** The seek bar's steps per second of recording. */
const SEEK_STEPS_PER_SECOND = 10;

/** `m:ss` of `seconds`. */
function clock(seconds: number): string {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/**
 * A session recording played back in xterm.js, the renderer the live terminal uses:
 * play/pause, speed, and a seek bar; pauses longer than two seconds play as two
 * (`IDLE_CAP_SECONDS`). Seeking redraws the screen from the start up to that moment, so
 * what shows is what the session showed then, at the size it had then.
 */
export class RecordingPlayer {
  readonly element: HTMLElement;
  private readonly owned = new DisposableStore();
  private readonly term: Terminal;
  private readonly timeline: RecordingTimeline;
  private readonly playButton: HTMLButtonElement;
  private readonly seekBar: HTMLInputElement;
  private readonly time: HTMLElement;
  /** Position (s of playing time) when playback last started or stopped. */
  private position = 0;
  /** `performance.now()` when playback last started; undefined while paused. */
  private playingSince: number | undefined;
  private speed = 1;
  /** Index of the next event to apply. */
  private next = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    events: AsciicastEvent[],
    private readonly size: { cols: number; rows: number },
  ) {
    this.timeline = new RecordingTimeline(events);
    const screen = el('div', 'player-screen');
    this.playButton = button('player-play', 'Play', () => this.toggle(), ['Play']);
    this.seekBar = el('input', {
      className: 'player-seek',
      attrs: {
        type: 'range',
        min: '0',
        max: String(Math.ceil(this.timeline.duration * SEEK_STEPS_PER_SECOND)),
        value: '0',
        'aria-label': 'Position',
      },
    });
    const speed = el(
      'select',
      { className: 'player-speed', attrs: { 'aria-label': 'Speed' } },
      SPEEDS.map((value) => el('option', { text: `${value}×`, attrs: { value: String(value) } })),
    );
    speed.value = '1';
    this.time = el('span', 'player-time');
    this.element = el('div', 'player', [
      screen,
      el('div', 'player-controls', [this.playButton, this.seekBar, speed, this.time]),
    ]);
    this.term = openXterm(screen, this.owned).term;
    this.term.resize(size.cols, size.rows);
    this.owned.add(
      addDisposableListener(this.seekBar, 'input', () => this.seek(Number(this.seekBar.value) / SEEK_STEPS_PER_SECOND)),
    );
    this.owned.add(
      addDisposableListener(speed, 'change', () => {
        this.position = this.now();
        if (this.playingSince !== undefined) this.playingSince = performance.now();
        this.speed = Number(speed.value);
        this.schedule();
      }),
    );
    this.owned.defer(() => clearTimeout(this.timer));
    this.showTime();
  }

  /** The recording's length as it plays (s), long pauses capped. */
  get duration(): number {
    return this.timeline.duration;
  }

  /** The whole screen buffer as text (for the diagnostics handle). */
  text(): string {
    return bufferText(this.term);
  }

  play(): void {
    if (this.playingSince !== undefined) return;
    if (this.next >= this.timeline.events.length) this.seek(0);
    this.playingSince = performance.now();
    this.playButton.textContent = 'Pause';
    this.schedule();
  }

  pause(): void {
    if (this.playingSince === undefined) return;
    this.position = this.now();
    this.playingSince = undefined;
    clearTimeout(this.timer);
    this.playButton.textContent = 'Play';
    this.showTime();
  }

  /** Shows the screen as it was `seconds` into the recording (playing time). */
  seek(seconds: number): void {
    const target = Math.min(Math.max(seconds, 0), this.timeline.duration);
    this.term.reset();
    this.term.resize(this.size.cols, this.size.rows);
    this.next = 0;
    this.apply(this.timeline.indexAfter(target));
    this.position = target;
    if (this.playingSince !== undefined) this.playingSince = performance.now();
    this.schedule();
    this.showTime();
  }

  dispose(): void {
    void this.owned.dispose();
  }

  private toggle(): void {
    if (this.playingSince === undefined) this.play();
    else this.pause();
  }

  /** The playing position now (s). */
  private now(): number {
    if (this.playingSince === undefined) return this.position;
    return this.position + ((performance.now() - this.playingSince) / 1000) * this.speed;
  }

  /** Applies the events up to (not including) index `end`, output batched between resizes. */
  private apply(end: number): void {
    let pending = '';
    const flush = (then?: TimedEvent): void => {
      // A resize waits for the output before it to be parsed: xterm.js writes are queued.
      if (pending || then) this.term.write(pending, then ? () => this.term.resize(then.cols, then.rows) : undefined);
      pending = '';
    };
    for (; this.next < end; this.next++) {
      const event = this.timeline.events[this.next]!;
      if (event.kind === 'output') pending += event.data;
      else flush(event);
    }
    flush();
  }

  /** While playing: applies what is due and waits for the next event (or stops at the end). */
  private schedule(): void {
    clearTimeout(this.timer);
    if (this.playingSince === undefined) return;
    const now = this.now();
    this.apply(this.timeline.indexAfter(now));
    this.showTime();
    const upcoming = this.timeline.events[this.next];
    if (!upcoming) {
      this.position = this.timeline.duration;
      this.playingSince = undefined;
      this.playButton.textContent = 'Play';
      this.showTime();
      return;
    }
    this.timer = setTimeout(() => this.schedule(), ((upcoming.at - now) * 1000) / this.speed);
  }

  private showTime(): void {
    const now = this.now();
    this.seekBar.value = String(Math.round(now * SEEK_STEPS_PER_SECOND));
    this.time.textContent = `${clock(now)} / ${clock(this.timeline.duration)}`;
  }
}
