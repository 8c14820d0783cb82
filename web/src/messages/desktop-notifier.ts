import type { MessageItem } from '@ctos/protocol';

/** Ids remembered as notified; older ones are forgotten (ids only grow, so they never come back). */
const REMEMBERED_IDS = 200;
/**
 * How long the tab that raised a notification keeps its per-message lock (ms). Every tab
 * gets the message within this time, finds the lock taken and stays quiet; a tab that
 * catches up later finds the id in storage instead.
 */
const NOTIFY_LOCK_HOLD_MS = 10_000;

/** The browser's notification permission, or `unsupported`. */
export type NotifyPermission = NotificationPermission | 'unsupported';

/**
 * Operating-system notifications for new messages while the page is not visible. Every
 * tab of the user receives each message (correctly), so three things keep it to one
 * notification (P17): the tabs that get it at the same moment race for a Web Lock named
 * after the message and only the winner shows it; shown ids are remembered in
 * localStorage, shared by all tabs of the origin, for a tab that catches up later; and
 * the notification's `tag` is the message id, which the system uses to replace rather
 * than add where the first two are unavailable (Web Locks need a secure context).
 */
export class DesktopNotifier {
  constructor(private readonly storageKey: string) {}

  get permission(): NotifyPermission {
    return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
  }

  /** Asks for permission (must run from a click). */
  async request(): Promise<NotifyPermission> {
    if (typeof Notification === 'undefined') return 'unsupported';
    return Notification.requestPermission();
  }

  /** Raises one notification for `item`, unless the page is visible or any tab already did. */
  notify(item: MessageItem, onClick: () => void): void {
    if (this.permission !== 'granted' || document.visibilityState === 'visible' || item.read) return;
    if (this.shownIds().includes(item.id)) return;
    if (!navigator.locks) {
      this.show(item, onClick);
      return;
    }
    void navigator.locks
      .request(`${this.storageKey}.${item.id}`, { ifAvailable: true }, async (lock) => {
        if (!lock || this.shownIds().includes(item.id)) return; // another tab has it
        this.show(item, onClick);
        await new Promise((resolve) => setTimeout(resolve, NOTIFY_LOCK_HOLD_MS));
      })
      .catch(() => undefined); // a lock request only fails when the page goes away
  }

  private show(item: MessageItem, onClick: () => void): void {
    this.remember([...this.shownIds(), item.id].slice(-REMEMBERED_IDS));
    try {
      const notification = new Notification(item.title, {
        body: item.content.slice(0, 200),
        tag: `ctos-message-${item.id}`,
      });
      notification.onclick = () => {
        window.focus();
        onClick();
        notification.close();
      };
    } catch {
      // Some browsers allow notifications only from a service worker: the toast and badge remain.
    }
  }

  private shownIds(): number[] {
    try {
      const parsed: unknown = JSON.parse(localStorage.getItem(this.storageKey) ?? '[]');
      return Array.isArray(parsed) ? parsed.filter((id): id is number => typeof id === 'number') : [];
    } catch {
      return []; // unreadable: at worst one repeated notification
    }
  }

  private remember(ids: number[]): void {
    try {
      localStorage.setItem(this.storageKey, JSON.stringify(ids));
    } catch {
      // Storage full or blocked: the tag still folds repeats into one notification.
    }
  }
}
