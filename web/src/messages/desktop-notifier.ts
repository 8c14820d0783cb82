import type { MessageItem } from '@ctos/protocol';

/** Ids remembered as notified; older ones are forgotten (ids only grow, so they never come back). */
const REMEMBERED_IDS = 200;

/** The browser's notification permission, or `unsupported`. */
export type NotifyPermission = NotificationPermission | 'unsupported';

/**
 * Operating-system notifications for new messages while the page is not visible. Every
 * tab of the user receives each message (correctly), so two things keep it to one
 * notification (P17): the notification's `tag` is the message id, which the system
 * uses to replace rather than add, and shown ids are remembered in localStorage, which
 * all tabs of the origin share, so a later tab does not raise it again.
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
    const shown = this.shownIds();
    if (shown.includes(item.id)) return;
    this.remember([...shown, item.id].slice(-REMEMBERED_IDS));
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
