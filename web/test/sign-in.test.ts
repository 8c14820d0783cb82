import type { Embedded } from '@ctos/launcher';
import { signToken, waitFor } from '@ctos/testkit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  connection,
  launchBrowser,
  screenshot,
  startServer,
  TEST_SECRET,
  TEST_USER,
  VIEWPORT,
  waitForConnected,
} from './support/desktop';

/** What a host application's script sets in the page; declared because these tests compile without DOM types. */
interface HostGlobals {
  CTOS_TOKEN_PROVIDER?: () => string;
  localStorage: { setItem(key: string, value: string): void; getItem(key: string): string | null };
}

let server: Embedded;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function freshPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  contexts.push(context);
  return context.newPage();
}

/** A token that expired an hour ago, signed with the server's secret. */
function expiredToken(): Promise<string> {
  return signToken(TEST_USER, { secret: TEST_SECRET, expiresIn: Math.floor(Date.now() / 1000) - 3600 });
}

test('a page opened without a token explains how to sign in', async () => {
  const page = await freshPage();
  await page.goto(server.url);
  const card = page.locator('.signin-card');
  await expect(card.locator('.signin-reason').innerText()).resolves.toBe('You are not signed in on this browser.');
  await expect(card.innerText()).resolves.toContain('/?login=');
  await screenshot(page, 'sign-in');
});

test('a login link works once; used again elsewhere it says so', async () => {
  const link = server.loginUrl();
  const first = await freshPage();
  await first.goto(link);
  await waitForConnected(first);
  // The code left the address bar, so a reload does not try it again.
  expect(first.url()).not.toContain('login=');
  const second = await freshPage();
  await second.goto(link);
  await expect(second.locator('.signin-reason').innerText()).resolves.toContain('already used or has expired');
});

test('an expired token shows the server’s reason, and the indicator says signed out', async () => {
  const page = await freshPage();
  const token = await expiredToken();
  await page.addInitScript((value) => {
    (globalThis as unknown as HostGlobals).localStorage.setItem('ctos.token', value);
  }, token);
  await page.goto(server.url);
  await expect(page.locator('.signin-reason').innerText()).resolves.toBe('Your session has expired; sign in again.');
  await waitFor(async () => (await connection(page)).phase === 'signed-out');
  await expect(page.locator('.conn-label').innerText()).resolves.toBe('Signed out');
});

test('a host application’s token provider renews an expired token without a reload', async () => {
  const page = await freshPage();
  const tokens = [await expiredToken(), await signToken(TEST_USER, { secret: TEST_SECRET })];
  await page.addInitScript((given) => {
    let calls = 0;
    (globalThis as unknown as HostGlobals).CTOS_TOKEN_PROVIDER = () => given[Math.min(calls++, given.length - 1)] ?? '';
  }, tokens);
  await page.goto(server.url);
  await waitForConnected(page);
  await expect(page.locator('.signin').count()).resolves.toBe(0);
});
