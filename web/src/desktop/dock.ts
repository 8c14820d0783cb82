import { button, el } from '../dom';
import { icon, type IconName } from '../icons';
import type { WindowManager } from './window-manager';

/** A launcher in the dock. */
export interface Launcher {
  name: string;
  icon: IconName;
  /** Key prefix of the windows this launcher opens (for its "running" dot). */
  keyPrefix: string;
  open(): void;
}

/**
 * The dock at the bottom: a launcher per app (Terminal, Assistant, Messages) and a
 * button per open window, to bring it forward or minimise it.
 */
export class Dock {
  readonly element: HTMLElement;
  private readonly running = el('div', 'dock-windows');
  private readonly launcherButtons: Array<{ launcher: Launcher; node: HTMLButtonElement }> = [];

  constructor(
    private readonly windows: WindowManager,
    launchers: Launcher[],
  ) {
    const apps = el('div', 'dock-apps');
    for (const launcher of launchers) {
      const node = button('dock-app', launcher.name, () => launcher.open(), [
        icon(launcher.icon),
        el('span', { className: 'dock-label', text: launcher.name }),
        el('span', 'dock-running'),
      ]);
      node.dataset.app = launcher.name.toLowerCase();
      apps.appendChild(node);
      this.launcherButtons.push({ launcher, node });
    }
    this.element = el('nav', { className: 'dock', attrs: { 'aria-label': 'Dock' } }, [apps, this.running]);
    windows.subscribe(() => this.render());
    this.render();
  }

  /** Sets a small count on a launcher (the unread messages on Messages). */
  setCount(name: string, count: number): void {
    const entry = this.launcherButtons.find((candidate) => candidate.launcher.name === name);
    if (!entry) return;
    entry.node.querySelector('.dock-count')?.remove();
    if (count > 0)
      entry.node.appendChild(el('span', { className: 'dock-count', text: count > 99 ? '99+' : String(count) }));
  }

  private render(): void {
    const open = this.windows.list();
    for (const { launcher, node } of this.launcherButtons) {
      node.classList.toggle(
        'running',
        open.some((win) => win.spec.key.startsWith(launcher.keyPrefix)),
      );
    }
    this.running.replaceChildren();
    this.running.hidden = open.length === 0;
    for (const win of open) {
      const active = this.windows.active === win && !win.minimized;
      const chip = button(
        `dock-window${active ? ' active' : ''}${win.minimized ? ' minimized' : ''}`,
        win.title,
        () => {
          if (win.minimized) win.restore();
          else if (active) win.minimize();
          else this.windows.focus(win);
        },
        [icon(win.spec.icon), el('span', { className: 'dock-window-title', text: win.title })],
      );
      this.running.appendChild(chip);
    }
  }
}
