import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startEmbedded, type Embedded } from '@ctos/launcher';
import { createLogger } from '@ctos/runtime';
import { type ClientSocket, waitForValue } from '@ctos/testkit';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** The built page the tests serve (`npm run build`, or `npx vite build` in web/). */
export const WEB_DIST = path.resolve(__dirname, '../../dist');
/** Screenshots and other artifacts (gitignored). */
export const ARTIFACTS = path.resolve(__dirname, '../../../test-artifacts');
/** A fixed signing secret, so tests can sign tokens for the embedded user too. */
export const TEST_SECRET = 'web-e2e-secret-0123456789-abcdefghijklmnop';
/** The user embedded mode signs in as in these tests. */
export const TEST_USER = 'alice';
/** A desktop-sized viewport: the screenshots are what a laptop shows. */
export const VIEWPORT = { width: 1440, height: 900 };

/** Debian's Chromium, headless, with nothing talking to the network behind the test's back. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Embedded mode in this process on a free port, with bash without rc files and the
 * test secret. `env` adds or overrides settings (the AI stand-in's URL, message API).
 */
export async function startServer(env: Record<string, string> = {}): Promise<Embedded> {
  if (!existsSync(path.join(WEB_DIST, 'index.html'))) {
    throw new Error(`The web page is not built (${WEB_DIST}); run: npm run build`);
  }
  return startEmbedded({
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      WEB_DIST_DIR: WEB_DIST,
      TERMINAL_SHELL: '/bin/bash',
      TERMINAL_SHELL_ARGS: '--norc --noprofile',
      AUTH_JWT_SECRET: TEST_SECRET,
      EMBEDDED_USER: TEST_USER,
      LOG_LEVEL: 'warn',
      ...env,
    },
    logger: (service) => createLogger({ service, level: 'warn' }),
  });
}

/**
 * The page's connection state (web/src/shell/connection-monitor.ts). Restated here: the
 * page's modules need DOM types, which the Node-side tests are compiled without.
 */
export interface ConnectionStatus {
  phase: 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'signed-out';
  attempt: number;
  detail?: string;
}

/** One terminal window as `window.ctos.terminals()` reports it (web/src/terminal/terminal-app.ts). */
export interface TerminalWindowInfo {
  session_id: string | undefined;
  title: string;
  cols: number;
  rows: number;
  seq: number;
  ended: boolean;
  cursor_x: number;
  cursor_y: number;
}

/** What `window.ctos` offers the tests (see web/src/desktop/desktop.ts). */
export interface PageHandle {
  connection(): ConnectionStatus;
  terminals(): TerminalWindowInfo[];
  terminalText(sessionId: string): string | undefined;
  playerText(recordingId: string): string | undefined;
  messages(): { unread: number; ids: number[] };
}

/** `globalThis` in the page, as the tests see it (this file is compiled without DOM types). */
interface PageGlobals {
  ctos: PageHandle;
}

/** A signed-in desktop in its own browser context. */
export interface OpenDesktop {
  context: BrowserContext;
  page: Page;
  /** Messages the page logged as errors, and uncaught exceptions: a healthy page has none. */
  errors: string[];
}

/**
 * Opens the desktop through a fresh one-time login URL and waits until it is connected,
 * in a new browser context unless one is given.
 */
export async function openDesktop(browser: Browser, server: Embedded, given?: BrowserContext): Promise<OpenDesktop> {
  const context = given ?? (await browser.newContext({ viewport: VIEWPORT }));
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(server.loginUrl());
  await waitForConnected(page);
  return { context, page, errors };
}

/** Waits until the page's connection indicator says connected. */
export async function waitForConnected(page: Page, timeoutMs = 15_000): Promise<void> {
  await page.waitForFunction(
    () => (globalThis as unknown as Partial<PageGlobals>).ctos?.connection().phase === 'connected',
    undefined,
    { timeout: timeoutMs },
  );
}

/** The page's connection state. */
export function connection(page: Page): Promise<ConnectionStatus> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).ctos.connection());
}

/** The page's terminal windows. */
export function terminals(page: Page): Promise<TerminalWindowInfo[]> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).ctos.terminals());
}

/** The text in the buffer of the window showing `sessionId`. */
export async function terminalText(page: Page, sessionId: string): Promise<string> {
  const text = await page.evaluate((id) => (globalThis as unknown as PageGlobals).ctos.terminalText(id), sessionId);
  return text ?? '';
}

/** Waits until the terminal's buffer matches `pattern`; returns the text. */
export async function waitForTerminalText(
  page: Page,
  sessionId: string,
  pattern: RegExp,
  timeoutMs = 10_000,
): Promise<string> {
  let last = '';
  try {
    return await waitForValue(
      async () => {
        last = await terminalText(page, sessionId);
        return pattern.test(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 50, message: `terminal text to match ${pattern}` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- terminal text ---\n${last}`, { cause: error });
  }
}

/** The screen text of the open player of `recordingId` (empty while none is open). */
export async function playerText(page: Page, recordingId: string): Promise<string> {
  const text = await page.evaluate((id) => (globalThis as unknown as PageGlobals).ctos.playerText(id), recordingId);
  return text ?? '';
}

/** Clicks a dock launcher (`terminal`, `assistant`, `messages`, `recordings`). */
export async function launch(page: Page, app: 'terminal' | 'assistant' | 'messages' | 'recordings'): Promise<void> {
  await page.click(`.dock-app[data-app="${app}"]`);
}

/** Opens a terminal from the dock and returns its window once its session exists. */
export async function openTerminal(page: Page): Promise<TerminalWindowInfo> {
  const before = new Set((await terminals(page)).map((info) => info.session_id));
  await launch(page, 'terminal');
  return waitForValue(
    async () => (await terminals(page)).find((info) => info.session_id && !before.has(info.session_id)),
    {
      timeoutMs: 10_000,
      message: 'a new terminal session',
    },
  );
}

/** Types a command line into the focused terminal and presses Enter. */
export async function run(page: Page, command: string): Promise<void> {
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}

/** Saves a PNG of the page (or of one element) under test-artifacts/; returns its path. */
export async function screenshot(page: Page, name: string, selector?: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  // Park the pointer on the bare desktop, so no hover state is captured.
  await page.mouse.move(4, VIEWPORT.height / 2);
  if (selector) await page.locator(selector).screenshot({ path: file });
  else await page.screenshot({ path: file });
  return file;
}

/**
 * Closes every terminal session of the socket's user, so the next test starts with none
 * (a new page would otherwise restore the last test's windows).
 */
export async function closeEverySession(socket: ClientSocket): Promise<void> {
  const list = await socket.emitWithAck('terminal:list', {});
  for (const session of list.success ? list.sessions : []) {
    await socket.emitWithAck('terminal:close', { session_id: session.session_id });
  }
}
