import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Embedded } from '@ctos/launcher';
import { loadTerminalWorkerConfig } from '@ctos/terminal-worker';
import { type ClientSocket, connectClient, signToken, waitFor, waitForValue } from '@ctos/testkit';
import type { Browser } from 'playwright-core';
import {
  closeEverySession,
  connection,
  launchBrowser,
  openDesktop,
  openTerminal,
  run,
  screenshot,
  startServer,
  terminals,
  TEST_SECRET,
  TEST_USER,
  waitForConnected,
  waitForTerminalText,
  type OpenDesktop,
} from './support/desktop';

/** What the paste test reaches in the page; declared here because these tests compile without DOM types. */
interface PasteGlobals {
  document: { querySelector(selector: string): { dispatchEvent(event: unknown): boolean } | null };
  DataTransfer: new () => { setData(format: string, data: string): void };
  ClipboardEvent: new (
    type: string,
    init: { clipboardData: unknown; bubbles: boolean; cancelable: boolean },
  ) => unknown;
}

/** A coloured prompt and some output, so the screenshot shows a terminal as people use it. */
const SCREENSHOT_SETUP = [
  "PS1='\\[\\e[38;5;111m\\]alice@ctos\\[\\e[0m\\]:\\[\\e[38;5;150m\\]~/projects\\[\\e[0m\\]$ '",
  'clear',
  'ls -l --color=always /usr | tail -n +2 | head -6',
  // ✔, ⚠ and → as UTF-8 escapes: the keyboard path stays ASCII.
  "printf '\\e[1;32m\\xe2\\x9c\\x94\\e[0m build passed   \\e[33m\\xe2\\x9a\\xa0\\e[0m 2 warnings   \\e[36m\\xe2\\x86\\x92\\e[0m deployed to staging\\n'",
  'echo ready',
].join('; ');

/**
 * Output the server may have sent beyond what the page has taken (bytes): the flow-control
 * window (`TERMINAL_FLOW_HIGH_BYTES`) plus chunks on the wire, with room to spare — far
 * below what an unthrottled flood would queue in a few seconds.
 */
const MAX_IN_TRANSIT_BYTES = 2 * loadTerminalWorkerConfig({}).TERMINAL_FLOW_HIGH_BYTES;

let server: Embedded;
let browser: Browser;
const desktops: OpenDesktop[] = [];
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});

afterEach(async () => {
  for (const desktop of desktops.splice(0)) await desktop.context.close();
  await closeEverySession(await observer());
  for (const socket of sockets.splice(0)) socket.close();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function desktop(): Promise<OpenDesktop> {
  const opened = await openDesktop(browser, server);
  desktops.push(opened);
  return opened;
}

/** A second client of the same user, as another tab would be, to look at the server's side. */
async function observer(): Promise<ClientSocket> {
  const socket = await connectClient(server.url, await signToken(TEST_USER, { secret: TEST_SECRET }));
  sockets.push(socket);
  return socket;
}

/** The selector of the window showing session `id`. */
function windowOf(id: string): string {
  return `.window[data-key="terminal:${id}"]`;
}

function unique(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

test('a terminal opened from the dock starts at its window size, echoes a command and takes the shell title', async () => {
  const { page, errors } = await desktop();
  const term = await openTerminal(page);
  const id = term.session_id ?? '';
  await run(page, 'stty size; echo hel""lo');
  const text = await waitForTerminalText(page, id, /^hello$/m);
  // The PTY was created at the window's size, not 80×24 (P04).
  expect(text).toMatch(new RegExp(`^${term.rows} ${term.cols}$`, 'm'));
  expect(term.cols).not.toBe(80);
  // The window's title follows the shell's title sequence (OSC 0).
  await run(page, "printf '\\033]0;alice@ctos: ~/projects\\007'");
  await page.locator(`${windowOf(id)} .window-title`, { hasText: 'alice@ctos: ~/projects' }).waitFor();
  await run(page, SCREENSHOT_SETUP);
  await waitForTerminalText(page, id, /^ready$/m);
  await screenshot(page, 'terminal');
  expect(errors).toEqual([]);
});

test('CJK and emoji output render, each wide character taking two cells', async () => {
  const { page } = await desktop();
  const id = (await openTerminal(page)).session_id ?? '';
  // Typed as byte escapes: the keyboard path stays ASCII, the output is 語😀.
  await run(page, "printf '\\xe8\\xaa\\x9e\\xf0\\x9f\\x98\\x80\\n'");
  await waitForTerminalText(page, id, /^語😀$/m);
  // ✅⏳🟢語 is four wide characters: the cursor stands at column 8 (0-based) after them (P08).
  await run(page, "printf '\\xe2\\x9c\\x85\\xe2\\x8f\\xb3\\xf0\\x9f\\x9f\\xa2\\xe8\\xaa\\x9e'; read -r -t 10 _; echo");
  await waitForTerminalText(page, id, /✅⏳🟢語/);
  const cursor = await waitForValue(
    async () => {
      const info = (await terminals(page)).find((candidate) => candidate.session_id === id);
      return info?.cursor_x === 8 ? info.cursor_x : undefined;
    },
    { message: 'the cursor after four wide characters at column 8' },
  );
  expect(cursor).toBe(8);
  await page.keyboard.press('Enter');
});

test('resizing the window resizes the shell', async () => {
  const { page } = await desktop();
  const before = await openTerminal(page);
  const id = before.session_id ?? '';
  const handle = await page.locator(`${windowOf(id)} .edge-se`).boundingBox();
  if (!handle) throw new Error('no resize handle');
  const x = handle.x + handle.width / 2;
  const y = handle.y + handle.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  // One move: a drag in steps resizes the PTY at each step, and a check could catch an
  // intermediate size that agrees on both sides just before the last one lands.
  await page.mouse.move(x - 260, y - 160);
  await page.mouse.up();
  // The page fits the terminal to the window, then resizes the PTY: wait until both agree on a smaller size.
  const watcher = await observer();
  const after = await waitForValue(
    async () => {
      const info = (await terminals(page)).find((candidate) => candidate.session_id === id);
      const list = await watcher.emitWithAck('terminal:list', {});
      const session = list.success ? list.sessions.find((candidate) => candidate.session_id === id) : undefined;
      if (!info || !session || info.cols >= before.cols || info.rows >= before.rows) return undefined;
      return session.cols === info.cols && session.rows === info.rows ? info : undefined;
    },
    { message: 'the window and the session to share a smaller size' },
  );
  await run(page, 'stty size');
  await waitForTerminalText(page, id, new RegExp(`^${after.rows} ${after.cols}$`, 'm'));
});

test('pasted text cannot end the bracketed paste and run commands (P07)', async () => {
  const { page } = await desktop();
  const id = (await openTerminal(page)).session_id ?? '';
  const marker = `/tmp/${unique('ctos-paste-')}`;
  const done = unique('done-');
  await run(page, 'bind -v | grep -q "enable-bracketed-paste on" && echo bracketed-on');
  // Up to the next prompt: readline turns bracketed paste on (CSI ?2004h) as it starts
  // reading a line, and output goes out as the shell writes it, so a paste made before
  // the prompt arrives would reach a shell not yet reading, unbracketed, as in any terminal.
  await waitForTerminalText(page, id, /^bracketed-on\n\S*[$#] *$/m);
  // The end marker, then a command separator and a newline: if the bracket closed early,
  // `;touch` would run as soon as the newline arrived.
  const payload = `echo first\x1b[201~;touch ${marker}\r`;
  // The browser's paste path: a paste event on xterm's text area, as Ctrl+Shift+V or the context menu raise.
  await page.evaluate((text) => {
    const g = globalThis as unknown as PasteGlobals;
    const area = g.document.querySelector('.window-terminal.focused .xterm-helper-textarea');
    const data = new g.DataTransfer();
    data.setData('text/plain', text);
    area?.dispatchEvent(new g.ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, payload);
  await waitForTerminalText(page, id, /echo first/);
  // The escape shows as a visible symbol on the pending line; nothing ran.
  await waitForTerminalText(page, id, /\u241b\[201~;touch/);
  // Discard the pasted line, then run a command: input is ordered, so anything the paste ran has run by now.
  await page.keyboard.press('Control+C');
  await run(page, `echo ${done}`);
  const text = await waitForTerminalText(page, id, new RegExp(`^${done}$`, 'm'));
  expect(existsSync(marker)).toBe(false);
  expect(text).not.toMatch(/^first/m);
});

test('after a reload the terminal comes back in its window with its earlier output', async () => {
  const { page } = await desktop();
  const id = (await openTerminal(page)).session_id ?? '';
  const marker = unique('before-reload-');
  await run(page, `echo ${marker}`);
  await waitForTerminalText(page, id, new RegExp(`^${marker}$`, 'm'));
  const boxBefore = await page.locator(windowOf(id)).boundingBox();
  await page.reload();
  await waitForConnected(page);
  await waitForTerminalText(page, id, new RegExp(`^${marker}$`, 'm'));
  expect((await terminals(page)).map((info) => info.session_id)).toEqual([id]);
  expect(await page.locator(windowOf(id)).boundingBox()).toEqual(boxBefore);
  // Still live: input reaches the same shell.
  await page.click(`${windowOf(id)} .xterm`);
  await run(page, 'echo after-reload');
  await waitForTerminalText(page, id, /^after-reload$/m);
});

test('a dropped connection recovers with every line of output exactly once', async () => {
  const { page, context } = await desktop();
  const id = (await openTerminal(page)).session_id ?? '';
  const watcher = await observer();
  const seen: string[] = [];
  watcher.on('terminal:output', (event) => {
    if (event.session_id === id) seen.push(event.data);
  });
  const attached = await watcher.emitWithAck('terminal:attach', { session_id: id, flow_control: false });
  expect(attached.success).toBe(true);
  await run(page, 'for i in $(seq 1 30); do echo L$i; sleep 0.1; done; echo loop-done');
  await waitForTerminalText(page, id, /^L3$/m);
  await context.setOffline(true);
  // The page notices: the indicator leaves "connected".
  await waitFor(async () => (await connection(page)).phase !== 'connected', { timeoutMs: 15_000 });
  // …and says so in words, not only by the dot's colour.
  await page.locator('.conn-banner').waitFor({ state: 'visible' });
  await screenshot(page, 'connection-lost');
  // The loop finishes while the page is away.
  await waitFor(() => /loop-done/.test(seen.join('')), { timeoutMs: 15_000 });
  await context.setOffline(false);
  await waitForConnected(page, 20_000);
  const text = await waitForTerminalText(page, id, /^loop-done$/m);
  for (let i = 1; i <= 30; i++) {
    expect(text.match(new RegExp(`^L${i}$`, 'gm'))).toHaveLength(1);
  }
});

test('a flood of output keeps the page responsive and stops at once on Ctrl+C (flow control)', async () => {
  const { page } = await desktop();
  const id = (await openTerminal(page)).session_id ?? '';
  await run(page, 'yes "$(printf \'%.0s0123456789\' {1..12})"');
  // Let a few megabytes through.
  await waitFor(async () => ((await terminals(page)).find((info) => info.session_id === id)?.seq ?? 0) > 3_000_000, {
    timeoutMs: 30_000,
    message: '3 MB of output',
  });
  // The page answers while the flood runs, and what the server has sent beyond what the
  // page has taken stays bounded: acknowledgements hold the PTY, nothing piles up.
  const pageSeq = (await terminals(page)).find((info) => info.session_id === id)?.seq ?? 0;
  const serverSeq = server.terminalWorker.sessions.get(id)?.seq ?? 0;
  expect(serverSeq - pageSeq).toBeLessThan(MAX_IN_TRANSIT_BYTES);
  // Ctrl+C stops it promptly: the PTY was held back by acknowledgements, so little output is queued behind it.
  const marker = unique('after-flood-');
  await page.keyboard.press('Control+C');
  await run(page, `echo ${marker}`);
  await waitForTerminalText(page, id, new RegExp(`^${marker}$`, 'm'), 15_000);
});
