import type { ITheme } from '@xterm/xterm';

/** The terminal's colours: a calm dark palette that matches the desktop's surfaces. */
export const TERMINAL_THEME: ITheme = {
  background: '#0d1117',
  foreground: '#d6deeb',
  cursor: '#7aa2f7',
  cursorAccent: '#0d1117',
  selectionBackground: '#2c3e63',
  black: '#1b2130',
  red: '#f7768e',
  green: '#9ece6a',
  yellow: '#e0af68',
  blue: '#7aa2f7',
  magenta: '#bb9af7',
  cyan: '#7dcfff',
  white: '#c0caf5',
  brightBlack: '#565f89',
  brightRed: '#ff8fa3',
  brightGreen: '#b5e48c',
  brightYellow: '#f3c97a',
  brightBlue: '#9ab8ff',
  brightMagenta: '#cdb4ff',
  brightCyan: '#a4e2ff',
  brightWhite: '#e6ebff',
};

/** Monospace fonts in order of preference; DejaVu Sans Mono is on every Debian. */
export const TERMINAL_FONT =
  '"JetBrains Mono", "Cascadia Mono", "SF Mono", Menlo, "DejaVu Sans Mono", Consolas, monospace';
