import { randomBytes } from 'node:crypto';
import type { Embedded } from '@ctos/launcher';
import { waitFor } from '@ctos/testkit';
import type { Browser, Page } from 'playwright-core';
import {
  connection,
  launch,
  launchBrowser,
  openDesktop,
  screenshot,
  startServer,
  TEST_USER,
  VIEWPORT,
  waitForConnected,
  type OpenDesktop,
} from './support/desktop';

/**
 * The message centre against the real message-worker, with messages posted through its
 * producer HTTP API (`POST /messages`) as another backend service would.
 */

/** The page's globals the notification test replaces; declared because these tests compile without DOM types. */
interface NotifyGlobals {
  notes: { title: string; tag?: string }[];
  Notification: unknown;
  Document: { prototype: object };
}

let server: Embedded;
let browser: Browser;
const desktops: OpenDesktop[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});

afterEach(async () => {
  for (const desktop of desktops.splice(0)) await desktop.context.close();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

interface Draft {
  title: string;
  content?: string;
  severity?: 'debug' | 'info' | 'warning' | 'error' | 'critical';
  source?: string;
  category?: string;
  link?: string;
}

/** Posts a message to the test user through the producer API, as a backend service would. */
async function post(draft: Draft): Promise<number> {
  const response = await fetch(new URL('/messages', server.messageApi.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${server.messageApi.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: TEST_USER, source: 'backup', category: 'jobs', ...draft }),
  });
  const body = (await response.json()) as { messages?: { id: number }[]; error?: string };
  if (!response.ok || !body.messages?.[0]) throw new Error(`POST /messages: ${response.status} ${body.error ?? ''}`);
  return body.messages[0].id;
}

async function desktop(): Promise<OpenDesktop> {
  const opened = await openDesktop(browser, server);
  desktops.push(opened);
  return opened;
}

/** The bell's badge number (0 when hidden). */
async function badge(page: Page): Promise<number> {
  const node = page.locator('.topbar .bell .badge');
  if (await node.isHidden()) return 0;
  return Number.parseInt(await node.innerText(), 10);
}

/** Each test starts with nothing unread: marks everything read from the message centre. */
async function markAllRead(page: Page): Promise<void> {
  await launch(page, 'messages');
  const button = page.locator('.window-messages button', { hasText: 'Mark all read' });
  if (await button.isEnabled()) await button.click();
  await waitFor(async () => (await badge(page)) === 0, { message: 'no unread messages' });
}

test('a posted message raises the badge, pops a toast and is listed; marking it read lowers the badge', async () => {
  const { page } = await desktop();
  await markAllRead(page);
  const title = `Backup finished ${randomBytes(3).toString('hex')}`;
  const id = await post({ title, content: 'All 3 volumes were copied to the NAS in 4 min 12 s.' });
  await waitFor(async () => (await badge(page)) === 1, { message: 'the badge to show 1' });
  await page.locator('.toast', { hasText: title }).waitFor();
  const item = page.locator(`.window-messages .msg-item[data-id="${id}"]`);
  await expect(item.getAttribute('class')).resolves.toContain('unread');
  await item.click();
  await waitFor(async () => (await badge(page)) === 0, { message: 'the badge to clear' });
  await expect(item.getAttribute('class')).resolves.not.toContain('unread');
});

test('reading in one tab updates the count and the list in the other', async () => {
  const first = await desktop();
  await markAllRead(first.page);
  const second = await first.context.newPage();
  await second.goto(new URL('/', server.url).toString());
  await waitForConnected(second);
  const ids = [
    await post({ title: 'Disk 80 % full', severity: 'warning' }),
    await post({ title: 'Nightly build passed' }),
  ];
  for (const page of [first.page, second]) {
    await waitFor(async () => (await badge(page)) === 2, { message: 'both tabs to count 2' });
  }
  await first.page.locator(`.window-messages .msg-item[data-id="${ids[0]}"]`).click();
  await waitFor(async () => (await badge(second)) === 1, { message: 'the other tab to count 1' });
  await launch(second, 'messages');
  await second.locator('.window-messages button', { hasText: 'Mark all read' }).click();
  await waitFor(async () => (await badge(first.page)) === 0, { message: 'the first tab to count 0' });
  await expect(first.page.locator('.window-messages .msg-item.unread').count()).resolves.toBe(0);
});

test('a message sent while the tab was offline arrives when it reconnects (P18)', async () => {
  const { page, context } = await desktop();
  await markAllRead(page);
  await context.setOffline(true);
  await waitFor(async () => (await connection(page)).phase !== 'connected', { timeoutMs: 15_000 });
  const id = await post({ title: 'Certificate renewed while you were away', severity: 'info' });
  await context.setOffline(false);
  await waitForConnected(page, 20_000);
  await waitFor(async () => (await badge(page)) === 1, { message: 'the missed message to count' });
  await page.locator(`.window-messages .msg-item[data-id="${id}"]`).waitFor();
});

test('the message centre shows severities, sources, times and links', async () => {
  const { page } = await desktop();
  await markAllRead(page);
  await post({
    title: 'Weekly report is ready',
    content: 'Usage grew 12 % week over week.',
    source: 'reports',
    category: 'weekly',
    link: 'https://example.com/reports/48',
  });
  await post({ title: 'Backup of /home finished', content: 'All 3 volumes were copied to the NAS in 4 min 12 s.' });
  await post({
    title: 'Disk /var is 91 % full',
    content: 'Consider removing rotated logs: 6.2 GB in /var/log.',
    severity: 'warning',
    source: 'monitor',
    category: 'disk',
  });
  await post({
    title: 'Deploy of web-2 failed',
    content: 'Health check /readyz returned 503 after 60 s.',
    severity: 'error',
    source: 'ci',
    category: 'deploy',
  });
  await waitFor(async () => (await badge(page)) === 4, { message: 'four unread' });
  await page.locator('.window-messages .msg-item[data-id]').nth(3).waitFor();
  await page.locator('.window-messages .msg-item').nth(3).click();
  await page.mouse.move(0, 0);
  await screenshot(page, 'messages');
});

test('a new message raises one desktop notification, however many hidden tabs receive it (P17)', async () => {
  const context = await browser.newContext({ viewport: VIEWPORT });
  // Hidden tabs with notification permission, and a recorder standing in for the system's notifications.
  await context.addInitScript(() => {
    const g = globalThis as unknown as NotifyGlobals;
    g.notes = [];
    g.Notification = class {
      static permission = 'granted';
      static requestPermission(): Promise<string> {
        return Promise.resolve('granted');
      }
      onclick: unknown = null;
      constructor(title: string, options: { tag?: string } = {}) {
        g.notes.push({ title, tag: options.tag });
      }
      close(): void {}
    };
    Object.defineProperty(g.Document.prototype, 'visibilityState', { get: () => 'hidden' });
  });
  const first = await openDesktop(browser, server, context);
  desktops.push(first);
  const tabs = [first.page, await context.newPage(), await context.newPage()];
  for (const tab of tabs.slice(1)) {
    await tab.goto(new URL('/', server.url).toString());
    await waitForConnected(tab);
  }
  const notes = async (): Promise<{ title: string; tag?: string }[]> =>
    (await Promise.all(tabs.map((tab) => tab.evaluate(() => (globalThis as unknown as NotifyGlobals).notes)))).flat();
  const id = await post({ title: 'Only once, please' });
  // A second message is the barrier: once every tab has shown it, each has decided about the first.
  const barrier = await post({ title: 'Barrier' });
  await waitFor(async () => (await notes()).some((note) => note.tag === `ctos-message-${barrier}`), {
    message: 'the barrier notification',
  });
  for (const tab of tabs) {
    await waitFor(async () =>
      (
        await tab.evaluate(
          () => (globalThis as unknown as { ctos: { messages(): { ids: number[] } } }).ctos.messages().ids,
        )
      ).includes(barrier),
    );
  }
  expect((await notes()).filter((note) => note.tag === `ctos-message-${id}`)).toEqual([
    { title: 'Only once, please', tag: `ctos-message-${id}` },
  ]);
});
