import { startStandin, type Standin } from '@ctos/anthropic-standin';
import type { Embedded } from '@ctos/launcher';
import { connectClient, signToken, waitFor } from '@ctos/testkit';
import type { Browser, Page } from 'playwright-core';
import {
  launch,
  launchBrowser,
  openDesktop,
  openTerminal,
  run,
  screenshot,
  startServer,
  TEST_SECRET,
  TEST_USER,
  waitForTerminalText,
  type OpenDesktop,
} from './support/desktop';

/** A short reply for the overview's assistant window. */
const REPLY = [
  'Use `ss` to see who listens on a port:',
  '',
  '```bash',
  'ss -ltnp | grep :8080',
  '```',
  '',
  '- `-l` listening sockets only',
  '- `-t` TCP, `-n` numeric ports, `-p` the owning process',
].join('\n');

/** What the overview's message centre lists. */
const OVERVIEW_MESSAGES: Record<string, string>[] = [
  {
    source: 'backup',
    category: 'jobs',
    title: 'Backup of /home finished',
    content: 'All 3 volumes copied to the NAS in 4 min 12 s.',
  },
  {
    source: 'monitor',
    category: 'disk',
    severity: 'warning',
    title: 'Disk /var is 91 % full',
    content: 'Rotated logs take 6.2 GB in /var/log.',
  },
  {
    source: 'ci',
    category: 'deploy',
    severity: 'error',
    title: 'Deploy of web-2 failed',
    content: 'Health check /readyz returned 503 after 60 s.',
  },
];

let standin: Standin;
let server: Embedded;
let browser: Browser;
const desktops: OpenDesktop[] = [];

beforeAll(async () => {
  standin = await startStandin({
    apiKey: 'sk-ant-test-key',
    script: () => ({ text: REPLY, chunks: 20, deltaIntervalMs: 10 }),
  });
  [server, browser] = await Promise.all([
    startServer({ ANTHROPIC_API_KEY: 'sk-ant-test-key', ANTHROPIC_BASE_URL: standin.url }),
    launchBrowser(),
  ]);
});

afterEach(async () => {
  for (const desktop of desktops.splice(0)) await desktop.context.close();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await standin?.close();
});

async function desktop(): Promise<Page> {
  const opened = await openDesktop(browser, server);
  desktops.push(opened);
  return opened.page;
}

/** Posts a message to the test user through the producer API. */
async function post(draft: Record<string, string>): Promise<void> {
  const response = await fetch(new URL('/messages', server.messageApi.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${server.messageApi.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: TEST_USER, ...draft }),
  });
  if (!response.ok) throw new Error(`POST /messages: ${response.status}`);
}

/** Drags a window by its title bar by (dx, dy). */
async function dragTitle(page: Page, selector: string, dx: number, dy: number): Promise<void> {
  const box = await page.locator(`${selector} .window-title`).boundingBox();
  if (!box) throw new Error(`no title bar for ${selector}`);
  await page.mouse.move(box.x + 20, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + 20 + dx, box.y + box.height / 2 + dy, { steps: 8 });
  await page.mouse.up();
}

test('windows move by their title bar, minimise to the dock, maximise and close', async () => {
  const page = await desktop();
  await launch(page, 'messages');
  const win = '.window-messages';
  const before = await page.locator(win).boundingBox();
  await dragTitle(page, win, 120, 80);
  const moved = await page.locator(win).boundingBox();
  expect(moved && before ? [moved.x - before.x, moved.y - before.y] : []).toEqual([120, 80]);
  await page.click(`${win} button[aria-label="Minimise"]`);
  await expect(page.locator(win).isHidden()).resolves.toBe(true);
  await page.click('.dock-window', { hasText: 'Messages' } as never);
  await expect(page.locator(win).isVisible()).resolves.toBe(true);
  await page.dblclick(`${win} .window-title`);
  const area = await page.locator('.desktop-area').boundingBox();
  await expect(page.locator(win).boundingBox()).resolves.toEqual(area);
  await page.dblclick(`${win} .window-title`);
  await expect(page.locator(win).boundingBox()).resolves.toEqual(moved);
  await page.click(`${win} button[aria-label="Close"]`);
  await expect(page.locator(win).count()).resolves.toBe(0);
});

test('closing a terminal window ends its session', async () => {
  const page = await desktop();
  const id = (await openTerminal(page)).session_id ?? '';
  const watcher = await connectClient(server.url, await signToken(TEST_USER, { secret: TEST_SECRET }));
  try {
    const listed = async (): Promise<boolean> => {
      const list = await watcher.emitWithAck('terminal:list', {});
      return list.success && list.sessions.some((session) => session.session_id === id);
    };
    expect(await listed()).toBe(true);
    await page.click(`.window[data-key="terminal:${id}"] button[aria-label="Close"]`);
    await waitFor(async () => !(await listed()), { message: 'the session to end' });
  } finally {
    watcher.close();
  }
});

test('the desktop holds a terminal, the assistant and the message centre side by side', async () => {
  const page = await desktop();
  const id = (await openTerminal(page)).session_id ?? '';
  const terminal = `.window[data-key="terminal:${id}"]`;
  await arrange(page, terminal, { x: 16, y: 16, width: 700, height: 430 });
  await page.click(`${terminal} .xterm`);
  await run(
    page,
    "PS1='\\[\\e[38;5;111m\\]alice@ctos\\[\\e[0m\\]:\\[\\e[38;5;150m\\]~\\[\\e[0m\\]$ '; clear; uptime -p; df -h / | tail -1; ls --color=always /etc | head -12 | column -c 80; echo ready",
  );
  await waitForTerminalText(page, id, /^ready$/m);
  await launch(page, 'assistant');
  await arrange(page, '.window-assistant', { x: 732, y: 16, width: 692, height: 736 });
  await page.fill('.window-assistant .ai-input', 'Which process listens on port 8080?');
  await page.press('.window-assistant .ai-input', 'Enter');
  await page.locator('.window-assistant .turn-assistant[data-status="complete"]').waitFor({ timeout: 15_000 });
  for (const message of OVERVIEW_MESSAGES) await post(message);
  await launch(page, 'messages');
  await arrange(page, '.window-messages', { x: 16, y: 462, width: 700, height: 300 });
  await page
    .locator('.window-messages .msg-item')
    .nth(OVERVIEW_MESSAGES.length - 1)
    .waitFor();
  // The toasts have been seen; dismiss them so the shot shows the windows. One may close by
  // itself (after TOAST_MS) at any moment, so close them all in one step inside the page.
  await page.evaluate(() => {
    for (const close of document.querySelectorAll<HTMLElement>('.toast-close')) close.click();
  });
  await page.locator('.toast').first().waitFor({ state: 'detached' });
  await screenshot(page, 'desktop');
});

/**
 * Sizes a window by its bottom-right corner, then moves it by its title bar, in
 * desktop-area pixels (sizing first, while the cascaded window is wholly on screen).
 */
async function arrange(
  page: Page,
  selector: string,
  target: { x: number; y: number; width: number; height: number },
): Promise<void> {
  const box = await page.locator(selector).boundingBox();
  const corner = await page.locator(`${selector} .edge-se`).boundingBox();
  if (!box || !corner) throw new Error(`cannot size ${selector}`);
  const x = corner.x + corner.width / 2;
  const y = corner.y + corner.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + target.width - box.width, y + target.height - box.height, { steps: 8 });
  await page.mouse.up();
  const area = await page.locator('.desktop-area').boundingBox();
  const sized = await page.locator(selector).boundingBox();
  if (!area || !sized) throw new Error(`cannot move ${selector}`);
  await dragTitle(page, selector, area.x + target.x - sized.x, area.y + target.y - sized.y);
  await expect(page.locator(selector).boundingBox()).resolves.toEqual({
    x: area.x + target.x,
    y: area.y + target.y,
    width: target.width,
    height: target.height,
  });
}
