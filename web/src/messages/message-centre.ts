import type { MessageItem } from '@ctos/protocol';
import { safeHref } from '../ai/safe-href';
import { button, clear, el } from '../dom';
import { icon } from '../icons';
import type { Toasts } from '../desktop/toasts';
import { relativeTime } from '../time-format';
import type { DesktopNotifier } from './desktop-notifier';
import type { MessageStore } from './message-store';

type Filter = 'all' | 'unread';

/**
 * The message centre: the user's messages newest first, unread ones marked; a click
 * marks one read, "Mark all read" the rest; older pages on demand; a switch for desktop
 * notifications.
 */
export class MessageCentre {
  readonly element: HTMLElement;
  private filter: Filter = 'all';
  private readonly list = el('div', { className: 'msg-list', attrs: { role: 'list' } });
  private readonly summary = el('span', 'msg-summary');
  private readonly markAll: HTMLButtonElement;
  private readonly notifyButton: HTMLButtonElement;
  private readonly tabs: Record<Filter, HTMLButtonElement>;

  constructor(
    private readonly store: MessageStore,
    private readonly notifier: DesktopNotifier,
    private readonly toasts: Toasts,
  ) {
    this.markAll = button('ghost small', 'Mark all read', () => void this.read(), [icon('checks'), 'Mark all read']);
    this.notifyButton = button('ghost small icon-only', 'Desktop notifications', () => void this.askPermission(), [
      icon('notify'),
    ]);
    this.tabs = {
      all: button('tab', 'All', () => this.setFilter('all'), ['All']),
      unread: button('tab', 'Unread', () => this.setFilter('unread'), ['Unread']),
    };
    this.element = el('div', 'msg-centre', [
      el('div', 'msg-toolbar', [
        el('div', 'tabs', [this.tabs.all, this.tabs.unread]),
        this.summary,
        el('div', 'msg-actions', [this.markAll, this.notifyButton]),
      ]),
      this.list,
    ]);
    store.subscribe(() => this.render());
    this.render();
  }

  render(): void {
    const unread = this.store.unread;
    this.summary.textContent = unread === 0 ? 'All read' : `${unread} unread`;
    this.markAll.disabled = unread === 0;
    for (const [name, tab] of Object.entries(this.tabs)) tab.classList.toggle('active', name === this.filter);
    this.renderNotifyButton();
    const items = this.store.messages().filter((item) => this.filter === 'all' || !item.read);
    clear(this.list);
    if (items.length === 0) {
      this.list.appendChild(
        el('div', 'msg-empty', [
          icon('inbox'),
          el('div', {
            className: 'msg-empty-title',
            text: this.filter === 'unread' ? 'You are all caught up' : 'No messages yet',
          }),
          el('div', { text: 'Notices from your system and services appear here.' }),
        ]),
      );
    }
    for (const item of items) this.list.appendChild(this.renderItem(item));
    if (this.store.moreOlder) {
      this.list.appendChild(
        button(
          'ghost msg-older',
          'Load older messages',
          () => {
            void this.store.loadOlder().then((error) => {
              if (error) this.toasts.show({ tone: 'error', title: 'Could not load older messages', body: error });
            });
          },
          ['Load older messages'],
        ),
      );
    }
  }

  private renderItem(item: MessageItem): HTMLElement {
    const href = item.link ? safeHref(item.link) : undefined;
    const link = href
      ? el('a', {
          className: 'msg-link',
          text: 'Open link',
          attrs: { href, target: '_blank', rel: 'noopener noreferrer nofollow' },
        })
      : null;
    link?.addEventListener('click', (event) => event.stopPropagation());
    const node = el(
      'div',
      {
        className: `msg-item sev-${item.severity}${item.read ? '' : ' unread'}`,
        attrs: { role: 'listitem', tabindex: '0', 'data-id': String(item.id) },
      },
      [
        el('span', { className: 'msg-dot', title: item.read ? 'Read' : 'Unread' }),
        el('div', 'msg-main', [
          el('div', 'msg-head', [
            el('span', { className: `sev-badge sev-${item.severity}`, text: item.severity }),
            el('span', { className: 'msg-title', text: item.title }),
            el('time', {
              className: 'msg-time',
              text: relativeTime(item.created_at),
              title: new Date(item.created_at).toLocaleString(),
              attrs: { datetime: item.created_at },
            }),
          ]),
          item.content ? el('div', { className: 'msg-content', text: item.content }) : null,
          el('div', 'msg-meta', [el('span', { text: `${item.source} · ${item.category}` }), link]),
        ]),
      ],
    );
    const open = (): void => {
      node.classList.toggle('expanded');
      if (!item.read) void this.read(item.id);
    };
    node.addEventListener('click', open);
    node.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        open();
      }
    });
    return node;
  }

  private async read(id?: number): Promise<void> {
    const error = await this.store.markRead(id);
    if (error) this.toasts.show({ tone: 'error', title: 'Could not mark as read', body: error });
  }

  private setFilter(filter: Filter): void {
    this.filter = filter;
    this.render();
  }

  private renderNotifyButton(): void {
    const permission = this.notifier.permission;
    const label =
      permission === 'granted'
        ? 'Desktop notifications are on'
        : permission === 'denied'
          ? 'Desktop notifications are blocked in this browser'
          : permission === 'unsupported'
            ? 'This browser has no desktop notifications'
            : 'Turn on desktop notifications';
    this.notifyButton.title = label;
    this.notifyButton.setAttribute('aria-label', label);
    this.notifyButton.replaceChildren(icon(permission === 'granted' ? 'bell' : 'notify'));
    this.notifyButton.classList.toggle('on', permission === 'granted');
    this.notifyButton.disabled = permission !== 'default';
  }

  private async askPermission(): Promise<void> {
    await this.notifier.request();
    this.render();
  }
}
