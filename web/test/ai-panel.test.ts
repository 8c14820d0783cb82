import type { Embedded } from '@ctos/launcher';
import { startStandin, type Reply, type Standin } from '@ctos/anthropic-standin';
import { waitFor, waitForValue } from '@ctos/testkit';
import type { Browser, Page } from 'playwright-core';
import {
  connection,
  launch,
  launchBrowser,
  openDesktop,
  screenshot,
  startServer,
  waitForConnected,
  type OpenDesktop,
} from './support/desktop';

/**
 * The assistant panel against the real ai-worker and the local Anthropic stand-in.
 * Needs the ai-worker registered in embedded mode, configured by ANTHROPIC_API_KEY and
 * ANTHROPIC_BASE_URL (the SDK's own variable names).
 */

/** What the page may have been tricked into setting; declared because these tests compile without DOM types. */
interface InjectionGlobals {
  pwned?: unknown;
}

const PLAN_REPLY = [
  'Here is **a plan** for a full disk:',
  '',
  '1. See what is big with `du -sh /var/*`.',
  '2. Remove rotated logs older than a week.',
  '',
  '```bash',
  "find /var/log -name '*.gz' -mtime +7 -delete",
  '```',
  '',
  'Then check again with `df -h`.',
].join('\n');

const HOSTILE_REPLY = [
  'Careful: <img src=x onerror="globalThis.pwned=1"> and <script>globalThis.pwned=2</script> stay text.',
  '',
  '[a link that must not run](javascript:globalThis.pwned=3) and [a safe one](https://example.com/docs).',
].join('\n');

const LONG_REPLY = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
const STORY_REPLY = Array.from({ length: 90 }, (_, i) => `part${i}`).join(' ');

/** Replies by what the user asked: the worker may send other requests, so the script keys on content. */
function replyFor(question: string, failNext: { value: boolean }): Reply {
  if (question.includes('long essay')) return { text: LONG_REPLY, firstDeltaDelayMs: 50, deltaIntervalMs: 50 };
  if (question.includes('story')) return { text: STORY_REPLY, firstDeltaDelayMs: 50, deltaIntervalMs: 40 };
  if (question.includes('hostile')) return { text: HOSTILE_REPLY, chunks: 12, deltaIntervalMs: 20 };
  if (question.includes('flaky') && failNext.value) {
    return { error: { status: 529, retryAfterSeconds: 0.05 } };
  }
  return { text: PLAN_REPLY, chunks: 40, firstDeltaDelayMs: 100, deltaIntervalMs: 40 };
}

function lastUserText(body: { messages: readonly { role: string; content: unknown }[] }): string {
  const last = [...body.messages].reverse().find((message) => message.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return (last.content as { text?: unknown }[])
    .map((block) => (typeof block.text === 'string' ? block.text : ''))
    .join('');
}

let standin: Standin;
let server: Embedded;
let browser: Browser;
const failNext = { value: false };
const desktops: OpenDesktop[] = [];

beforeAll(async () => {
  standin = await startStandin({
    apiKey: 'sk-ant-test-key',
    script: ({ body }) => replyFor(lastUserText(body), failNext),
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

async function assistant(): Promise<Page> {
  const opened = await openDesktop(browser, server);
  desktops.push(opened);
  await launch(opened.page, 'assistant');
  await opened.page.waitForSelector('.window-assistant .ai-input');
  return opened.page;
}

async function ask(page: Page, question: string): Promise<void> {
  await page.fill('.window-assistant .ai-input', question);
  await page.press('.window-assistant .ai-input', 'Enter');
}

/** Poll period of the waits below (ms). */
const POLL_MS = 30;

const LAST_REPLY = '.window-assistant .turn-assistant >> nth=-1';

function replyText(page: Page): Promise<string> {
  return page.locator(`${LAST_REPLY} >> .turn-body`).innerText();
}

/**
 * The last reply's status. A reply that failed when the test expects it to stream throws
 * at once with the error the panel shows, instead of waiting out the timeout.
 */
async function replyStatus(page: Page, failureExpected = false): Promise<string | null> {
  const status = await page.locator(LAST_REPLY).getAttribute('data-status', { timeout: 5000 });
  if (!failureExpected && (status === 'failed' || status === 'interrupted')) {
    const error = await page.locator(`${LAST_REPLY} >> .turn-error`).allInnerTexts();
    throw new Error(`the reply ${status}: ${error.join(' ') || '(no error shown)'}`);
  }
  return status;
}

/** Polls `probe` until it is true; unlike `waitFor`, an error thrown by the probe fails at once. */
async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Waits until the last reply's status is `status`; fails fast on an unexpected failure. */
function waitForStatus(page: Page, status: string, timeoutMs = 15_000): Promise<void> {
  return until(async () => (await replyStatus(page)) === status, `the reply to be ${status}`, timeoutMs);
}

test('a reply streams into the panel, grows as it is written and ends rendered as Markdown', async () => {
  const page = await assistant();
  await ask(page, 'My disk is full, what should I do?');
  const lengths = new Set<number>();
  const deadline = Date.now() + 20_000;
  while ((await replyStatus(page)) !== 'complete') {
    if (Date.now() > deadline) throw new Error('the reply did not complete within 20 s');
    lengths.add((await replyText(page)).length);
  }
  // Seen at several lengths on the way: it grew in the panel, not all at once.
  expect(lengths.size).toBeGreaterThanOrEqual(4);
  const reply = page.locator(LAST_REPLY);
  await expect(reply.locator('strong').first().innerText()).resolves.toBe('a plan');
  await expect(reply.locator('ol > li').count()).resolves.toBe(2);
  await expect(reply.locator('pre code').innerText()).resolves.toContain(
    "find /var/log -name '*.gz' -mtime +7 -delete",
  );
  await page.mouse.move(0, 0);
  await screenshot(page, 'assistant');
});

test('Stop ends the reply, keeps what was written and aborts the upstream request', async () => {
  const page = await assistant();
  const requestsBefore = standin.requests.length;
  await ask(page, 'Write a long essay about terminals');
  await until(
    async () => (await replyStatus(page)) !== null && (await replyText(page)).length > 40,
    'the reply to start',
  );
  await screenshot(page, 'assistant-streaming');
  await page.click('.window-assistant .ai-send.stop');
  await waitForStatus(page, 'cancelled', 10_000);
  const kept = await replyText(page);
  expect(kept.length).toBeGreaterThan(40);
  expect(kept.length).toBeLessThan(LONG_REPLY.length);
  await expect(page.locator(`${LAST_REPLY} >> .turn-note`).innerText()).resolves.toBe('Stopped');
  // The upstream connection was closed by the worker, not left to run.
  const request = await waitForValue(() =>
    standin.requests
      .slice(requestsBefore)
      .find((candidate) => candidate.rawBody.includes('long essay') && candidate.outcome === 'client-closed'),
  );
  expect(request.outcome).toBe('client-closed');
  expect(await replyText(page)).toBe(kept);
  // The box is ready for the next question.
  await expect(page.locator('.window-assistant .ai-send').getAttribute('aria-label')).resolves.toBe('Send');
});

test('HTML and script links in a reply stay inert text', async () => {
  const page = await assistant();
  await ask(page, 'Show me something hostile');
  await waitForStatus(page, 'complete', 15_000);
  const reply = page.locator(LAST_REPLY);
  await expect(reply.locator('img, script').count()).resolves.toBe(0);
  await expect(replyText(page)).resolves.toContain('<img src=x onerror=');
  const hrefs = await reply.locator('a').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
  expect(hrefs).toEqual(['https://example.com/docs']);
  expect(await page.evaluate(() => (globalThis as unknown as InjectionGlobals).pwned)).toBeUndefined();
});

test('an upstream failure shows inline with Retry, and Retry gets the reply', async () => {
  const page = await assistant();
  failNext.value = true;
  await ask(page, 'A flaky question');
  const error = page.locator(`${LAST_REPLY} >> .turn-error`);
  await error.waitFor({ timeout: 20_000 });
  failNext.value = false;
  await error.locator('button', { hasText: 'Retry' }).click();
  await waitForStatus(page, 'complete', 15_000);
  await expect(replyText(page)).resolves.toContain('a plan');
  await expect(page.locator(`${LAST_REPLY} >> .turn-error`).count()).resolves.toBe(0);
});

test('a reply streaming during a reload continues in the reloaded page, whole and once', async () => {
  const page = await assistant();
  await ask(page, 'Tell me a story');
  await until(async () => (await replyStatus(page)) !== null && (await replyText(page)).includes('part10'), 'part10');
  await page.reload();
  await waitForConnected(page);
  await page.waitForSelector('.window-assistant .turn-assistant');
  await waitForStatus(page, 'complete', 20_000);
  expect(normalise(await replyText(page))).toBe(STORY_REPLY);
});

test('a reply streaming through a dropped connection resumes from its last chunk', async () => {
  const opened = await openDesktop(browser, server);
  desktops.push(opened);
  const { page, context } = opened;
  await launch(page, 'assistant');
  await ask(page, 'Another story please');
  await until(async () => (await replyStatus(page)) !== null && (await replyText(page)).includes('part5'), 'part5');
  await context.setOffline(true);
  await waitFor(async () => (await connection(page)).phase !== 'connected', { timeoutMs: 15_000 });
  await context.setOffline(false);
  await waitForStatus(page, 'complete', 30_000);
  expect(normalise(await replyText(page))).toBe(STORY_REPLY);
});

/** The rendered paragraph's words, one space apart. */
function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
