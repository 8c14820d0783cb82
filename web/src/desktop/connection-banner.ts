import { el } from '../dom';
import { icon } from '../icons';
import type { ConnectionMonitor, ConnectionStatus } from '../shell/connection-monitor';

/**
 * Show the banner only after the connection has been down this long (ms): a blip that
 * heals by itself needs no more than the indicator's colour.
 */
const BANNER_GRACE_MS = 1500;

function bannerText(status: ConnectionStatus): string | undefined {
  if (status.phase === 'offline') {
    return 'You are offline. Your terminals and replies keep running on the server; this page catches up when the network is back.';
  }
  if (status.phase === 'reconnecting') {
    const attempt = status.attempt > 1 ? ` (attempt ${status.attempt})` : '';
    return `Connection lost. Reconnecting${attempt}… Nothing you see is lost: it catches up when the connection is back.`;
  }
  return undefined;
}

/** A strip under the top bar while the connection is down, so a lost connection is never silent. */
export function connectionBanner(monitor: ConnectionMonitor): HTMLElement {
  const text = el('span');
  const banner = el('div', { className: 'conn-banner', attrs: { role: 'status' } }, [icon('alert'), text]);
  banner.hidden = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  monitor.subscribe((status) => {
    const message = bannerText(status);
    banner.dataset.phase = status.phase;
    if (!message) {
      clearTimeout(timer);
      timer = undefined;
      banner.hidden = true;
      return;
    }
    text.textContent = message;
    if (banner.hidden && timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        if (bannerText(monitor.status)) banner.hidden = false;
      }, BANNER_GRACE_MS);
    }
  });
  return banner;
}
