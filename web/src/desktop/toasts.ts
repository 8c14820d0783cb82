import { button, el } from '../dom';
import { icon, type IconName } from '../icons';

/** How a toast looks: its accent colour and icon. */
export type ToastTone = 'info' | 'success' | 'warning' | 'error';

/** A toast to show. */
export interface ToastSpec {
  tone: ToastTone;
  title: string;
  body?: string;
  /** Clicking the toast (not its close button) does this, then dismisses it. */
  onClick?: () => void;
  /** How long it stays (ms); default {@link TOAST_MS}. */
  durationMs?: number;
}

/** A toast stays this long (ms): long enough to read two lines. */
const TOAST_MS = 6000;
/** At most this many toasts at once; older ones go first. */
const MAX_TOASTS = 4;

const TONE_ICONS: Record<ToastTone, IconName> = {
  info: 'bell',
  success: 'checks',
  warning: 'alert',
  error: 'alert',
};

/** Short-lived notices in the bottom-right corner (new messages, failures). */
export class Toasts {
  readonly element = el('div', { className: 'toasts', attrs: { 'aria-live': 'polite' } });

  show(spec: ToastSpec): void {
    const node = el('div', `toast toast-${spec.tone}`, [
      el('span', 'toast-icon', [icon(TONE_ICONS[spec.tone])]),
      el('div', 'toast-text', [
        el('div', { className: 'toast-title', text: spec.title }),
        spec.body ? el('div', { className: 'toast-body', text: spec.body }) : null,
      ]),
    ]);
    const dismiss = (): void => {
      clearTimeout(timer);
      node.classList.add('leaving');
      setTimeout(() => node.remove(), 200);
    };
    node.appendChild(
      button(
        'toast-close',
        'Dismiss',
        (event) => {
          event.stopPropagation();
          dismiss();
        },
        [icon('close')],
      ),
    );
    if (spec.onClick) {
      node.classList.add('clickable');
      node.addEventListener('click', () => {
        spec.onClick?.();
        dismiss();
      });
    }
    const timer = setTimeout(dismiss, spec.durationMs ?? TOAST_MS);
    this.element.appendChild(node);
    while (this.element.childElementCount > MAX_TOASTS) this.element.firstElementChild?.remove();
  }
}
