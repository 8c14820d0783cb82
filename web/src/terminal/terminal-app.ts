import type { TerminalSessionInfo } from '@ctos/protocol';
import { el } from '../dom';
import type { AppWindow } from '../desktop/app-window';
import type { Toasts } from '../desktop/toasts';
import type { WindowManager } from '../desktop/window-manager';
import { request, type AppSocket } from '../shell/socket-client';
import { TerminalView, type TerminalViewInfo } from './terminal-view';

/** A terminal window's default size (px): about 100×28 cells at the default font. */
const DEFAULT_SIZE = { width: 860, height: 520 };
/** Below this a terminal is unusable (px). */
const MIN_SIZE = { width: 320, height: 180 };
/** Window keys of terminals start with this; the rest is the session id once known. */
export const TERMINAL_KEY_PREFIX = 'terminal:';

interface OpenTerminal {
  win: AppWindow;
  view: TerminalView;
  /** "Terminal 2": the title until the shell sets one. */
  name: string;
}

/** What the diagnostics handle reports per terminal window. */
export interface TerminalWindowInfo extends TerminalViewInfo {
  title: string;
}

/**
 * The terminal windows: opens new sessions, brings the user's live sessions back in
 * windows after a reload (`terminal:list` + attach), and re-attaches every open one
 * with its position after a reconnect.
 */
export class TerminalApp {
  private readonly open = new Set<OpenTerminal>();
  private counter = 0;

  constructor(
    private readonly socket: AppSocket,
    private readonly windows: WindowManager,
    private readonly toasts: Toasts,
  ) {}

  /** Opens a window and starts a new shell in it, at the window's size. */
  async openNew(): Promise<void> {
    const entry = this.openWindow(`${TERMINAL_KEY_PREFIX}new-${Date.now()}-${this.counter}`, undefined);
    const failure = await entry.view.create();
    if (failure && !failure.success) {
      this.toasts.show({ tone: 'error', title: 'Could not start a terminal', body: failure.error });
      entry.win.close();
      return;
    }
    if (entry.view.sessionId) this.windows.rekey(entry.win, TERMINAL_KEY_PREFIX + entry.view.sessionId);
    entry.view.focus();
  }

  /**
   * After the first connect: a window for every live session of the user not shown yet,
   * with its screen, where its window was last time.
   * @returns false when the list could not be had (the next connect tries again).
   */
  async restore(): Promise<boolean> {
    const response = await request(this.socket, 'terminal:list', {});
    if (!response.success) {
      this.toasts.show({ tone: 'error', title: 'Could not list your terminals', body: response.error });
      return false;
    }
    const shown = new Set([...this.open].map((entry) => entry.view.sessionId));
    const sessions = [...response.sessions].sort((a, b) => a.created_at.localeCompare(b.created_at));
    for (const session of sessions) {
      if (shown.has(session.session_id)) continue;
      const entry = this.openWindow(TERMINAL_KEY_PREFIX + session.session_id, session);
      void entry.view.attach(session.session_id, 'restore');
    }
    return true;
  }

  /** After a reconnect: every open session continues from the last byte its window has. */
  resume(): void {
    for (const entry of this.open) {
      const id = entry.view.sessionId;
      if (id && !entry.view.isEnded) void entry.view.attach(id, 'resume');
    }
  }

  /** Read-only summaries for the diagnostics handle. */
  list(): TerminalWindowInfo[] {
    return [...this.open].map((entry) => ({ ...entry.view.info(), title: entry.win.title }));
  }

  /** The buffer of the window showing `sessionId`, as text (diagnostics). */
  text(sessionId: string): string | undefined {
    for (const entry of this.open) if (entry.view.sessionId === sessionId) return entry.view.text();
    return undefined;
  }

  private openWindow(key: string, session: TerminalSessionInfo | undefined): OpenTerminal {
    this.counter += 1;
    const name = `Terminal ${this.counter}`;
    const body = el('div', 'terminal-body');
    const holder: { entry?: OpenTerminal } = {};
    const win = this.windows.open({
      key,
      kind: 'terminal',
      title: session?.title || name,
      icon: 'terminal',
      body,
      defaultSize: DEFAULT_SIZE,
      minSize: MIN_SIZE,
      onFocus: () => holder.entry?.view.focus(),
      onClose: () => {
        const entry = holder.entry;
        if (!entry) return;
        entry.view.close();
        entry.view.dispose();
        this.open.delete(entry);
      },
    });
    const view = new TerminalView(this.socket, body, {
      onTitle: (title) => win.setTitle(title || name),
      onEnded: () => win.setTitle(`${win.title} — ended`),
      onDismiss: () => win.close(),
    });
    const entry: OpenTerminal = { win, view, name };
    holder.entry = entry;
    this.open.add(entry);
    return entry;
  }
}
