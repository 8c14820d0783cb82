import type { MessageItem } from '@ctos/protocol';
import { AiPanel } from '../ai/ai-panel';
import { el } from '../dom';
import { DesktopNotifier } from '../messages/desktop-notifier';
import { MessageCentre } from '../messages/message-centre';
import { MessageStore } from '../messages/message-store';
import type { Credentials } from '../shell/auth';
import type { ConnectionMonitor, ConnectionStatus } from '../shell/connection-monitor';
import type { AppSocket } from '../shell/socket-client';
import { TERMINAL_KEY_PREFIX, TerminalApp } from '../terminal/terminal-app';
import { connectionBanner } from './connection-banner';
import { Dock } from './dock';
import { RecordingsApp } from '../recordings/recordings-app';
import { LayoutStore } from './layout-store';
import { signInCard } from './sign-in';
import { Toasts } from './toasts';
import { TopBar } from './top-bar';
import { WindowManager } from './window-manager';

/** The assistant window's default and smallest size (px). */
const ASSISTANT_SIZE = { width: 880, height: 600 };
const ASSISTANT_MIN = { width: 480, height: 360 };
/** The message centre's default and smallest size (px). */
const MESSAGES_SIZE = { width: 460, height: 580 };
const MESSAGES_MIN = { width: 340, height: 300 };
/** The browser tab's title. */
const PAGE_TITLE = 'ChingTech OS';
/** Live messages are announced one by one up to this many; a larger catch-up is one summary toast. */
const TOASTS_PER_BATCH = 3;

/** The read-only view of the desktop that `window.ctos` offers (diagnostics and end-to-end tests). */
export interface DesktopHandle {
  connection(): ConnectionStatus;
  terminals(): ReturnType<TerminalApp['list']>;
  terminalText(sessionId: string): string | undefined;
  /** The screen text of an open recording player. */
  playerText(recordingId: string): string | undefined;
  messages(): { unread: number; ids: number[] };
}

/**
 * The desktop: top bar, window area, dock and toasts, with the apps — terminals, the
 * assistant, the message centre and the recordings — on one socket. On every connect the apps
 * catch up: terminals restore (first) or resume (later), the assistant resumes its
 * reply, messages sync from the last id.
 */
export class Desktop {
  readonly element: HTMLElement;
  private readonly windows: WindowManager;
  private readonly terminals: TerminalApp;
  private readonly assistant: AiPanel;
  private readonly store: MessageStore;
  private readonly centre: MessageCentre;
  private readonly recordings: RecordingsApp;
  private readonly notifier: DesktopNotifier;
  private readonly toasts = new Toasts();
  private readonly topBar: TopBar;
  private readonly area = el('main', { className: 'desktop-area', attrs: { 'aria-label': 'Desktop' } });
  private connectedOnce = false;
  /** The user's live terminals have been put back in windows (retried on each connect until they are). */
  private terminalsRestored = false;

  constructor(
    private readonly socket: AppSocket,
    private readonly monitor: ConnectionMonitor,
    credentials: Credentials,
    /** The token now (it may have been renewed since sign-in), for HTTP requests beside the socket. */
    token: () => string,
  ) {
    const layout = new LayoutStore(`ctos.layout.${credentials.user}`);
    this.windows = new WindowManager(this.area, layout);
    this.terminals = new TerminalApp(socket, this.windows, this.toasts);
    this.assistant = new AiPanel(socket, this.toasts, `ctos.ai.current.${credentials.user}`);
    this.store = new MessageStore(socket);
    this.notifier = new DesktopNotifier(`ctos.notified.${credentials.user}`);
    this.centre = new MessageCentre(this.store, this.notifier, this.toasts);
    this.recordings = new RecordingsApp(socket, this.windows, this.toasts, token);
    this.topBar = new TopBar(monitor, credentials.user, () => this.toggleMessages());
    const dock = new Dock(this.windows, [
      { name: 'Terminal', icon: 'terminal', keyPrefix: TERMINAL_KEY_PREFIX, open: () => void this.terminals.openNew() },
      { name: 'Assistant', icon: 'assistant', keyPrefix: 'assistant', open: () => this.openAssistant() },
      { name: 'Messages', icon: 'inbox', keyPrefix: 'messages', open: () => this.openMessages() },
      { name: 'Recordings', icon: 'film', keyPrefix: 'recording', open: () => this.recordings.open() },
    ]);
    this.area.appendChild(
      el('div', 'desktop-hint', [
        el('div', { className: 'desktop-hint-title', text: 'Welcome' }),
        el('div', { text: 'Open a terminal, ask the assistant, or read your messages from the dock below.' }),
      ]),
    );
    this.element = el('div', 'desktop', [
      this.topBar.element,
      connectionBanner(monitor),
      this.area,
      dock.element,
      this.toasts.element,
    ]);

    this.store.subscribe((change) => {
      this.topBar.setUnread(this.store.unread);
      dock.setCount('Messages', this.store.unread);
      // The tab shows the count too, for a person looking at another tab.
      document.title = this.store.unread > 0 ? `(${this.store.unread}) ${PAGE_TITLE}` : PAGE_TITLE;
      this.announce(change.added, change.arrival === 'live');
    });
    socket.on('connect', () => void this.onConnect());
    socket.on('terminal:error', (event) => this.toasts.show({ tone: 'error', title: 'Terminal', body: event.error }));
    socket.on('message:error', (event) => this.toasts.show({ tone: 'error', title: 'Messages', body: event.error }));
    if (layout.get('assistant')?.open) this.openAssistant();
    if (layout.get('messages')?.open) this.openMessages();
  }

  /** The read-only handle published as `window.ctos`. */
  handle(): DesktopHandle {
    return Object.freeze({
      connection: () => this.monitor.status,
      terminals: () => this.terminals.list(),
      terminalText: (sessionId: string) => this.terminals.text(sessionId),
      playerText: (recordingId: string) => this.recordings.playerText(recordingId),
      messages: () => ({ unread: this.store.unread, ids: this.store.messages().map((item) => item.id) }),
    });
  }

  /** The server refused the token: say so over the desktop (which stays visible behind). */
  signedOut(reason: string): void {
    this.element.querySelector('.signin')?.remove();
    this.element.appendChild(signInCard(reason));
  }

  private async onConnect(): Promise<void> {
    const first = !this.connectedOnce;
    this.connectedOnce = true;
    this.element.querySelector('.signin')?.remove();
    this.terminals.resume();
    if (!this.terminalsRestored) this.terminalsRestored = await this.terminals.restore();
    await Promise.all([this.assistant.connected(first), this.store.connected()]);
  }

  private openAssistant(): void {
    this.windows.open({
      key: 'assistant',
      kind: 'assistant',
      title: 'Assistant',
      icon: 'assistant',
      body: this.assistant.element,
      defaultSize: ASSISTANT_SIZE,
      minSize: ASSISTANT_MIN,
      onFocus: () => this.assistant.focus(),
    });
  }

  private openMessages(): void {
    this.windows.open({
      key: 'messages',
      kind: 'messages',
      title: 'Messages',
      icon: 'inbox',
      body: this.centre.element,
      defaultSize: MESSAGES_SIZE,
      minSize: MESSAGES_MIN,
    });
  }

  private toggleMessages(): void {
    const open = this.windows.get('messages');
    if (open && this.windows.active === open && !open.minimized) open.minimize();
    else this.openMessages();
  }

  /** A toast per new message (or one summary for a large catch-up), and a desktop notification while hidden. */
  private announce(added: MessageItem[], live: boolean): void {
    const unread = added.filter((item) => !item.read);
    if (unread.length === 0) return;
    if (unread.length > TOASTS_PER_BATCH || !live) {
      this.toasts.show({
        tone: 'info',
        title: `${unread.length} new message${unread.length === 1 ? '' : 's'}`,
        body: live ? undefined : 'Arrived while you were disconnected.',
        onClick: () => this.openMessages(),
      });
    } else {
      for (const item of unread) {
        this.toasts.show({
          tone:
            item.severity === 'error' || item.severity === 'critical'
              ? 'error'
              : item.severity === 'warning'
                ? 'warning'
                : 'info',
          title: item.title,
          body: item.content ? item.content.slice(0, 140) : `${item.source} · ${item.category}`,
          onClick: () => this.openMessages(),
        });
      }
    }
    for (const item of unread) this.notifier.notify(item, () => this.openMessages());
  }
}
