import { button, el } from '../dom';
import { icon } from '../icons';
import type { ConnectionMonitor, ConnectionStatus } from '../shell/connection-monitor';

/** The bell shows at most this number; more reads "99+". */
const BADGE_MAX = 99;
/** The clock is redrawn this often (ms); minutes are all it shows. */
const CLOCK_TICK_MS = 15_000;

/** The words and tooltip of each connection state. */
export function describeConnection(status: ConnectionStatus): { label: string; tooltip: string } {
  switch (status.phase) {
    case 'connecting':
      return { label: 'Connecting…', tooltip: 'Connecting to the server.' };
    case 'connected':
      return { label: 'Connected', tooltip: 'Live: terminals, assistant and messages are up to date.' };
    case 'reconnecting':
      return {
        label: status.attempt > 1 ? `Reconnecting… (${status.attempt})` : 'Reconnecting…',
        tooltip: 'The connection dropped. Retrying; your terminals keep running and nothing is lost.',
      };
    case 'offline':
      return {
        label: 'Offline',
        tooltip: 'This device has no network. The page reconnects by itself when it is back.',
      };
    case 'signed-out':
      return { label: 'Signed out', tooltip: status.detail ?? 'Sign in again to continue.' };
  }
}

/**
 * The bar across the top: brand, clock, connection indicator and the message bell with
 * its unread badge.
 */
export class TopBar {
  readonly element: HTMLElement;
  private readonly badge = el('span', { className: 'badge', attrs: { 'aria-hidden': 'true' } });
  private readonly bell: HTMLButtonElement;

  constructor(monitor: ConnectionMonitor, user: string, onBell: () => void) {
    const dot = el('span', 'conn-dot');
    const label = el('span', 'conn-label');
    const connection = el('div', { className: 'conn', attrs: { role: 'status', 'aria-live': 'polite' } }, [dot, label]);
    monitor.subscribe((status) => {
      const { label: text, tooltip } = describeConnection(status);
      connection.dataset.phase = status.phase;
      label.textContent = text;
      connection.title = tooltip;
    });
    this.bell = button('bell', 'Messages', onBell, [icon('bell'), this.badge]);
    const clock = el('span', 'clock');
    const tick = (): void => {
      clock.textContent = new Date().toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    };
    tick();
    // The bar lives as long as the page: the interval needs no owner.
    setInterval(tick, CLOCK_TICK_MS);
    this.element = el('header', 'topbar', [
      el('div', 'brand', [
        el('span', 'brand-mark', ['C']),
        el('span', { className: 'brand-name', text: 'ChingTech OS' }),
      ]),
      el('div', 'topbar-center', [clock]),
      el('div', 'topbar-right', [
        connection,
        this.bell,
        el('span', { className: 'user-chip', text: user, title: `Signed in as ${user}` }),
      ]),
    ]);
    this.setUnread(0);
  }

  setUnread(count: number): void {
    this.badge.textContent = count > BADGE_MAX ? `${BADGE_MAX}+` : String(count);
    this.badge.hidden = count === 0;
    const label = count === 0 ? 'Messages' : `Messages, ${count} unread`;
    this.bell.setAttribute('aria-label', label);
    this.bell.title = label;
  }
}
