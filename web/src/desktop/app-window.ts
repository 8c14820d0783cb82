import { DisposableStore } from '@ctos/protocol';
import { button, el } from '../dom';
import { addDisposableListener } from '../dom-listener';
import { icon, type IconName } from '../icons';
import type { WindowGeometry } from './layout-store';

/** The kinds of window the desktop opens. */
export type WindowKind = 'terminal' | 'assistant' | 'messages' | 'recordings';

/** A size in CSS pixels. */
export interface Size {
  width: number;
  height: number;
}

/** What a window shows and how it behaves. */
export interface WindowSpec {
  /** Unique among open windows and the key of its remembered layout (`terminal:<id>`, `assistant`…). */
  key: string;
  kind: WindowKind;
  title: string;
  icon: IconName;
  /** The window's content; it fills the area under the title bar. */
  body: HTMLElement;
  defaultSize: Size;
  minSize: Size;
  /** The user closed the window (close button or a program's request). */
  onClose?: () => void;
  /** The window got the focus (to focus an inner input). */
  onFocus?: () => void;
}

/** What a window needs from the desktop that holds it. */
export interface WindowHost {
  /** The desktop area's size now. */
  areaSize(): Size;
  focus(win: AppWindow): void;
  closed(win: AppWindow): void;
  /** Title, minimised or maximised state changed (the dock follows). */
  changed(win: AppWindow): void;
  /** A move or resize ended: remember where the window is. */
  settled(win: AppWindow): void;
}

/** A resize handle's edge or corner. */
type Edge = 'n' | 's' | 'e' | 'w' | 'ne' | 'nw' | 'se' | 'sw';
const EDGES: Edge[] = ['n', 's', 'e', 'w', 'ne', 'nw', 'se', 'sw'];

/** Pixels of a window that must stay inside the desktop so it can be dragged back. */
const MIN_VISIBLE_PX = 96;
/** A press becomes a drag once the pointer has moved this far (px). */
const DRAG_THRESHOLD_PX = 4;
/** Height of the title bar (px), which must stay reachable. */
const TITLE_BAR_PX = 36;

/**
 * One desktop window: a title bar to drag, eight edges to resize, minimise, maximise
 * (double-click the title) and close. Its content is the spec's `body`.
 */
export class AppWindow {
  readonly element: HTMLElement;
  readonly spec: WindowSpec;
  minimized = false;
  private geometryNow: WindowGeometry;
  private restoreTo: WindowGeometry | undefined;
  private readonly titleNode: HTMLElement;
  private titleNow: string;
  private closed = false;
  /** The window's own listeners, released when it closes. */
  private readonly owned = new DisposableStore();
  /** The listeners of the drag under way, if any. */
  private dragListeners: DisposableStore | undefined;

  constructor(
    spec: WindowSpec,
    geometry: WindowGeometry,
    private readonly host: WindowHost,
  ) {
    this.spec = spec;
    this.titleNow = spec.title;
    this.titleNode = el('span', { className: 'window-title', text: spec.title });
    const controls = el('div', 'window-controls', [
      button('window-button', 'Minimise', () => this.minimize(), [icon('minimize')]),
      button('window-button', 'Maximise', () => this.toggleMaximize(), [icon('maximize')]),
      button('window-button close', 'Close', () => this.close(), [icon('close')]),
    ]);
    const header = el('header', 'window-header', [
      el('span', 'window-icon', [icon(spec.icon)]),
      this.titleNode,
      controls,
    ]);
    spec.body.classList.add('window-body');
    this.element = el(
      'section',
      { className: `window window-${spec.kind}`, attrs: { 'data-key': spec.key, role: 'dialog' } },
      [header, spec.body, ...EDGES.map((edge) => el('div', `window-edge edge-${edge}`))],
    );
    this.element.setAttribute('aria-label', spec.title);
    const owned = this.owned;
    owned.add(
      addDisposableListener(header, 'pointerdown', (event) => {
        if ((event.target as Element).closest('button')) return;
        this.drag(event, header, 'move');
      }),
    );
    owned.add(
      addDisposableListener(header, 'dblclick', (event) => {
        if (!(event.target as Element).closest('button')) this.toggleMaximize();
      }),
    );
    for (const handle of this.element.querySelectorAll<HTMLElement>('.window-edge')) {
      const edge = EDGES.find((candidate) => handle.classList.contains(`edge-${candidate}`));
      if (edge) owned.add(addDisposableListener(handle, 'pointerdown', (event) => this.drag(event, handle, edge)));
    }
    // Focus on any press inside, before the content handles it.
    owned.add(addDisposableListener(this.element, 'pointerdown', () => this.host.focus(this), { capture: true }));
    owned.add(addDisposableListener(this.element, 'focusin', () => this.host.focus(this)));
    owned.defer(() => this.dragListeners?.dispose());
    this.geometryNow = { ...geometry };
    this.apply();
  }

  /** Changes the window's key (a terminal's, once its session id is known). */
  setKey(key: string): void {
    this.spec.key = key;
    this.element.setAttribute('data-key', key);
  }

  get title(): string {
    return this.titleNow;
  }

  get geometry(): WindowGeometry {
    return { ...this.geometryNow };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  setTitle(title: string): void {
    if (title === this.titleNow) return;
    this.titleNow = title;
    this.titleNode.textContent = title;
    this.element.setAttribute('aria-label', title);
    this.host.changed(this);
  }

  /** Moves and sizes the window (clamped to the desktop) and remembers it. */
  place(geometry: WindowGeometry): void {
    this.geometryNow = this.clamp({ ...geometry });
    this.apply();
    this.host.settled(this);
  }

  /** Keeps the window reachable after the desktop shrank. */
  reclamp(): void {
    this.geometryNow = this.clamp(this.geometryNow);
    this.apply();
  }

  toggleMaximize(): void {
    if (this.geometryNow.maximized) {
      this.geometryNow = { ...(this.restoreTo ?? this.geometryNow), maximized: false };
    } else {
      this.restoreTo = { ...this.geometryNow };
      this.geometryNow = { ...this.geometryNow, maximized: true };
    }
    this.apply();
    this.host.settled(this);
    this.host.changed(this);
  }

  minimize(): void {
    this.minimized = true;
    this.element.classList.add('minimized');
    this.host.changed(this);
  }

  /** Shows a minimised window again and focuses it. */
  restore(): void {
    this.minimized = false;
    this.element.classList.remove('minimized');
    this.host.focus(this);
    this.host.changed(this);
  }

  /** Closes the window as the user would (runs the spec's `onClose`) and releases its listeners. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.spec.onClose?.();
    void this.owned.dispose();
    this.element.remove();
    this.host.closed(this);
  }

  /** Marks the window as the focused one (done by the desktop). */
  setFocused(focused: boolean, z: number): void {
    this.element.classList.toggle('focused', focused);
    this.element.style.zIndex = String(z);
    if (focused) this.spec.onFocus?.();
  }

  private apply(): void {
    const style = this.element.style;
    const maximized = this.geometryNow.maximized === true;
    this.element.classList.toggle('maximized', maximized);
    style.left = maximized ? '0px' : `${this.geometryNow.x}px`;
    style.top = maximized ? '0px' : `${this.geometryNow.y}px`;
    style.width = maximized ? '100%' : `${this.geometryNow.width}px`;
    style.height = maximized ? '100%' : `${this.geometryNow.height}px`;
  }

  private clamp(geometry: WindowGeometry): WindowGeometry {
    const area = this.host.areaSize();
    const { minSize } = this.spec;
    const width = Math.max(minSize.width, Math.min(geometry.width, Math.max(minSize.width, area.width)));
    const height = Math.max(minSize.height, Math.min(geometry.height, Math.max(minSize.height, area.height)));
    const x = Math.min(Math.max(geometry.x, MIN_VISIBLE_PX - width), Math.max(0, area.width - MIN_VISIBLE_PX));
    const y = Math.min(Math.max(geometry.y, 0), Math.max(0, area.height - TITLE_BAR_PX));
    return { ...geometry, x: Math.round(x), y: Math.round(y), width: Math.round(width), height: Math.round(height) };
  }

  private drag(event: PointerEvent, handle: HTMLElement, mode: 'move' | Edge): void {
    if (event.button !== 0) return;
    if (this.geometryNow.maximized && mode !== 'move') return;
    event.preventDefault();
    handle.setPointerCapture(event.pointerId);
    let start = { x: event.clientX, y: event.clientY, geometry: { ...this.geometryNow } };
    let dragging = false;
    const { minSize } = this.spec;
    const onMove = (moved: PointerEvent): void => {
      if (!dragging) {
        // A press is not a drag until the pointer travels: a click or double-click must not move anything.
        if (Math.hypot(moved.clientX - start.x, moved.clientY - start.y) < DRAG_THRESHOLD_PX) return;
        dragging = true;
        document.body.classList.add('dragging');
        if (this.geometryNow.maximized) {
          // Dragging a maximised window's title restores it under the pointer, as desktops do.
          const size = this.restoreTo ?? this.geometryNow;
          const area = this.element.getBoundingClientRect();
          const restored = { x: start.x - area.left - size.width / 2, y: 0, width: size.width, height: size.height };
          this.geometryNow = { ...restored, maximized: false };
          start = { ...start, geometry: { ...this.geometryNow } };
          this.apply();
        }
      }
      const dx = moved.clientX - start.x;
      const dy = moved.clientY - start.y;
      const g = { ...start.geometry };
      if (mode === 'move') {
        g.x += dx;
        g.y += dy;
      } else {
        if (mode.includes('e')) g.width = Math.max(minSize.width, start.geometry.width + dx);
        if (mode.includes('s')) g.height = Math.max(minSize.height, start.geometry.height + dy);
        if (mode.includes('w')) {
          g.width = Math.max(minSize.width, start.geometry.width - dx);
          g.x = start.geometry.x + start.geometry.width - g.width;
        }
        if (mode.includes('n')) {
          g.height = Math.max(minSize.height, start.geometry.height - dy);
          g.y = start.geometry.y + start.geometry.height - g.height;
        }
      }
      this.geometryNow = this.clamp(g);
      this.apply();
    };
    const listeners = new DisposableStore();
    const onEnd = (): void => {
      void listeners.dispose();
      document.body.classList.remove('dragging');
      if (dragging) this.host.settled(this);
    };
    listeners.add(addDisposableListener(handle, 'pointermove', onMove));
    listeners.add(addDisposableListener(handle, 'pointerup', onEnd));
    listeners.add(addDisposableListener(handle, 'pointercancel', onEnd));
    this.dragListeners = listeners;
  }
}
