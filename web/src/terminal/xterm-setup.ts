import type { DisposableStore } from '@ctos/protocol';
import { FitAddon } from '@xterm/addon-fit';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { addDisposableListener } from '../dom-listener';
import { copyText } from './clipboard';
import { neutralisePaste } from './paste';
import { TERMINAL_FONT, TERMINAL_THEME } from './terminal-theme';

/** Lines kept above the screen. */
const SCROLLBACK_LINES = 5000;

/** An opened xterm.js terminal and the addon that fits it to its container. */
export interface OpenedXterm {
  /** The terminal, opened in the container. */
  term: Terminal;
  /** Fits the terminal's columns and rows to the container; throws while the renderer has not measured its font. */
  fit: FitAddon;
}

/**
 * Opens an xterm.js terminal in `container` with what every terminal window has, session
 * or not: the theme, Unicode 11 widths (P08), links, the WebGL renderer where there is
 * one, Ctrl+Shift+C to copy, and pasted text neutralised before xterm brackets it (P07).
 * The terminal and everything registered for it are owned by `store`: disposing the store
 * disposes the terminal last.
 */
export function openXterm(container: HTMLElement, store: DisposableStore): OpenedXterm {
  const term = store.add(
    new Terminal({
      allowProposedApi: true, // the unicode11 addon uses the proposed unicode API
      cursorBlink: true,
      fontFamily: TERMINAL_FONT,
      fontSize: 13.5,
      lineHeight: 1.15,
      scrollback: SCROLLBACK_LINES,
      theme: TERMINAL_THEME,
      macOptionIsMeta: true,
      rightClickSelectsWord: true,
    }),
  );
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.loadAddon(new WebLinksAddon());
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = '11'; // wide emoji take two cells, as on the host (P08)
  term.open(container);
  loadRenderer(term, store);
  term.attachCustomKeyEventHandler((event) => onKey(term, event));
  // Every paste (keyboard, context menu, middle click) raises this event on xterm's
  // text area; we take it first, clean it, and hand it to xterm, which brackets it.
  const onPaste = (event: ClipboardEvent): void => {
    const text = event.clipboardData?.getData('text/plain');
    if (text === undefined) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    term.paste(neutralisePaste(text));
  };
  store.add(addDisposableListener(container, 'paste', onPaste, { capture: true }));
  return { term, fit };
}

/** The whole buffer (scrollback and screen) as text, one line per row (wrapped rows joined), trailing blanks trimmed. */
export function bufferText(term: Terminal): string {
  const buffer = term.buffer.active;
  const lines: string[] = [];
  for (let row = 0; row < buffer.length; row++) {
    const line = buffer.getLine(row);
    if (!line) continue;
    if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += line.translateToString(true);
    else lines.push(line.translateToString(true));
  }
  return lines.join('\n').replace(/\n+$/, '');
}

function loadRenderer(term: Terminal, store: DisposableStore): void {
  try {
    const webgl = new WebglAddon();
    // A lost GPU context falls back to the DOM renderer instead of a blank terminal.
    store.add(webgl.onContextLoss(() => webgl.dispose()));
    term.loadAddon(webgl);
  } catch {
    // No WebGL (headless, blocked GPU): xterm's DOM renderer stays.
  }
}

/** Ctrl+Shift+C copies the selection; Ctrl+Shift+V is left to the browser's paste event (see onPaste). */
function onKey(term: Terminal, event: KeyboardEvent): boolean {
  if (event.type !== 'keydown' || !event.ctrlKey || !event.shiftKey) return true;
  const key = event.key.toLowerCase();
  if (key === 'c') {
    const selection = term.getSelection();
    if (selection) void copyText(selection);
    event.preventDefault();
    return false;
  }
  return key !== 'v';
}
