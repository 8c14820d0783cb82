import { parseAsciicast, type TerminalRecordingInfo } from '@ctos/protocol';
import { button, el } from '../dom';
import type { Toasts } from '../desktop/toasts';
import type { WindowManager } from '../desktop/window-manager';
import { request, type AppSocket } from '../shell/socket-client';
import { relativeTime } from '../time-format';
import { RecordingPlayer } from './recording-player';

/** Window keys of players start with this; the rest is the recording id. */
export const RECORDING_KEY_PREFIX = 'recording:';
const LIST_SIZE = { width: 520, height: 420 };
const LIST_MIN = { width: 320, height: 220 };
const PLAYER_MIN = { width: 420, height: 260 };

/** A size in bytes for people: `12.3 KB`. */
function bytes(count: number): string {
  if (count < 1000) return `${count} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = count / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * The user's session recordings (issue 19): a window that lists them
 * (`terminal:recordings`) and a player window per recording, fetched from
 * `GET /recordings/<id>.cast` with the page's token.
 */
export class RecordingsApp {
  private readonly list = el('ul', 'recordings-list');
  private readonly element: HTMLElement;
  private readonly players = new Map<string, RecordingPlayer>();

  constructor(
    private readonly socket: AppSocket,
    private readonly windows: WindowManager,
    private readonly toasts: Toasts,
    private readonly token: () => string,
  ) {
    this.element = el('div', 'recordings', [
      el('div', 'recordings-head', [
        el('span', { text: 'Recordings of your terminal sessions' }),
        button('recordings-refresh', 'Refresh', () => void this.refresh()),
      ]),
      this.list,
    ]);
  }

  /** Opens (or brings forward) the list, fresh from the server. */
  open(): void {
    this.windows.open({
      key: 'recordings',
      kind: 'recordings',
      title: 'Recordings',
      icon: 'film',
      body: this.element,
      defaultSize: LIST_SIZE,
      minSize: LIST_MIN,
    });
    void this.refresh();
  }

  /** The screen text of the player of `recordingId`, if one is open (for the diagnostics handle). */
  playerText(recordingId: string): string | undefined {
    return this.players.get(recordingId)?.text();
  }

  private async refresh(): Promise<void> {
    const answer = await request(this.socket, 'terminal:recordings', {});
    if (!answer.success) {
      this.toasts.show({ tone: 'error', title: 'Recordings', body: answer.error });
      return;
    }
    const items = answer.recordings.map((recording) => this.item(recording));
    this.list.replaceChildren(
      ...(items.length > 0 ? items : [el('li', { className: 'recordings-empty', text: 'No recordings yet.' })]),
    );
  }

  private item(recording: TerminalRecordingInfo): HTMLElement {
    const started = new Date(recording.started_at).toLocaleString(undefined, {
      dateStyle: 'medium',
      timeStyle: 'short',
    });
    const label = recording.title ?? `Terminal, ${started}`;
    const details = `${relativeTime(recording.started_at)} · ${recording.cols}×${recording.rows} · ${bytes(recording.bytes)}`;
    const play = button('recordings-play', `Play ${label}`, () => void this.play(recording, label), [
      el('span', { className: 'recordings-title', text: label }),
      el('span', { className: 'recordings-details', text: details }),
    ]);
    play.dataset.recording = recording.recording_id;
    return el('li', 'recordings-item', [play]);
  }

  private async play(recording: TerminalRecordingInfo, label: string): Promise<void> {
    const key = RECORDING_KEY_PREFIX + recording.recording_id;
    const open = this.windows.get(key);
    if (open) {
      this.windows.focus(open);
      return;
    }
    let text: string;
    try {
      const response = await fetch(`/recordings/${encodeURIComponent(recording.recording_id)}.cast`, {
        headers: { authorization: `Bearer ${this.token()}` },
        cache: 'no-store',
      });
      if (!response.ok)
        throw new Error(((await response.json()) as { error?: string }).error ?? `HTTP ${response.status}`);
      text = await response.text();
    } catch (error) {
      this.toasts.show({ tone: 'error', title: 'Could not load the recording', body: (error as Error).message });
      return;
    }
    const { header, events } = parseAsciicast(text);
    const player = new RecordingPlayer(events, { cols: Number(header.width), rows: Number(header.height) });
    this.players.set(recording.recording_id, player);
    this.windows.open({
      key,
      kind: 'recordings',
      title: `▶ ${label}`,
      icon: 'film',
      body: player.element,
      defaultSize: { width: Math.min(960, 9 * recording.cols + 40), height: Math.min(640, 18 * recording.rows + 90) },
      minSize: PLAYER_MIN,
      onClose: () => {
        player.dispose();
        this.players.delete(recording.recording_id);
      },
    });
    player.seek(0);
  }
}
