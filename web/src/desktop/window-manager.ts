import { DisposableStore, type Disposable } from '@ctos/protocol';
import { addDisposableListener } from '../dom-listener';
import { AppWindow, type Size, type WindowHost, type WindowSpec } from './app-window';
import type { LayoutStore, WindowGeometry } from './layout-store';

/** New windows cascade by this offset (px) so none hides another completely. */
const CASCADE_STEP_X = 32;
const CASCADE_STEP_Y = 28;
/** After this many steps the cascade starts again at the top left. */
const CASCADE_STEPS = 8;
/** Where the first window of a fresh desktop goes (px from the area's top left). */
const FIRST_X = 56;
const FIRST_Y = 28;
/** Space kept free around a default-sized window on a small screen (px). */
const FIT_MARGIN = 24;

/**
 * The desktop's windows: opens them where they were last time (or cascaded), keeps one
 * focused on top, remembers their places, and tells the dock what is open.
 */
export class WindowManager implements WindowHost {
  private readonly windows = new Map<string, AppWindow>();
  private readonly listeners = new Set<() => void>();
  private topZ = 1;
  private focused: AppWindow | undefined;
  private opened = 0;
  /** The manager's own listeners (the browser window's resize). */
  private readonly owned = new DisposableStore();

  constructor(
    private readonly area: HTMLElement,
    private readonly layout: LayoutStore,
  ) {
    this.owned.add(
      addDisposableListener(window, 'resize', () => {
        for (const win of this.windows.values()) win.reclamp();
      }),
    );
  }

  /** Opens a window, or focuses the open one with the same key. */
  open(spec: WindowSpec): AppWindow {
    const existing = this.windows.get(spec.key);
    if (existing) {
      if (existing.minimized) existing.restore();
      else this.focus(existing);
      return existing;
    }
    const remembered = this.layout.get(spec.key);
    const win = new AppWindow(spec, remembered ?? this.cascade(spec.defaultSize), this);
    this.windows.set(spec.key, win);
    this.area.appendChild(win.element);
    win.reclamp();
    this.settled(win);
    this.focus(win);
    this.emit();
    return win;
  }

  /** Gives an open window a new key, moving its remembered place with it. */
  rekey(win: AppWindow, key: string): void {
    if (win.isClosed || win.spec.key === key) return;
    this.windows.delete(win.spec.key);
    this.layout.delete(win.spec.key);
    win.setKey(key);
    this.windows.set(key, win);
    this.settled(win);
  }

  get(key: string): AppWindow | undefined {
    return this.windows.get(key);
  }

  /** Open windows in the order they were opened. */
  list(): AppWindow[] {
    return [...this.windows.values()];
  }

  /** The focused window, if any. */
  get active(): AppWindow | undefined {
    return this.focused;
  }

  /** Calls `listener` whenever windows open, close or change, until the returned disposable is disposed. */
  subscribe(listener: () => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  }

  /** Releases the manager's listeners and subscribers; open windows stay as they are. */
  dispose(): void {
    void this.owned.dispose();
    this.listeners.clear();
  }

  areaSize(): Size {
    return { width: this.area.clientWidth, height: this.area.clientHeight };
  }

  focus(win: AppWindow): void {
    if (this.focused === win && !win.minimized) return;
    this.focused?.setFocused(false, Number(this.focused.element.style.zIndex) || 0);
    this.focused = win;
    this.topZ += 1;
    win.setFocused(true, this.topZ);
    this.emit();
  }

  closed(win: AppWindow): void {
    this.windows.delete(win.spec.key);
    if (win.spec.kind === 'terminal') this.layout.delete(win.spec.key);
    else this.layout.set(win.spec.key, { ...win.geometry, open: false });
    if (this.focused === win) {
      this.focused = undefined;
      const next = this.list()
        .filter((candidate) => !candidate.minimized)
        .sort((a, b) => Number(b.element.style.zIndex) - Number(a.element.style.zIndex))[0];
      if (next) this.focus(next);
    }
    this.emit();
  }

  changed(win: AppWindow): void {
    if (win.minimized && this.focused === win) this.focused = undefined;
    this.emit();
  }

  settled(win: AppWindow): void {
    if (!win.isClosed) this.layout.set(win.spec.key, { ...win.geometry, open: true });
  }

  private cascade(size: Size): WindowGeometry {
    const area = this.areaSize();
    const step = this.opened % CASCADE_STEPS;
    this.opened += 1;
    const width = Math.min(size.width, Math.max(0, area.width - FIT_MARGIN * 2));
    const height = Math.min(size.height, Math.max(0, area.height - FIT_MARGIN * 2));
    // Centre the first window on a wide screen; cascade the next ones from there.
    const baseX = Math.max(FIRST_X, Math.round((area.width - width) / 2) - (CASCADE_STEPS / 2) * CASCADE_STEP_X);
    const baseY = FIRST_Y;
    return {
      x: Math.min(baseX + step * CASCADE_STEP_X, Math.max(0, area.width - width)),
      y: Math.min(baseY + step * CASCADE_STEP_Y, Math.max(0, area.height - height)),
      width,
      height,
    };
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}
