import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Embedded } from '@ctos/launcher';
import { waitFor } from '@ctos/testkit';
import type { Browser, Page } from 'playwright-core';
import {
  launch,
  launchBrowser,
  openDesktop,
  openTerminal,
  playerText,
  run,
  screenshot,
  startServer,
  waitForTerminalText,
  type OpenDesktop,
} from './support/desktop';

/** The page's own line once a session has ended (terminal-view.ts); not part of the session. */
const ENDED_NOTICE = /\s*\[session ended: [^\]]*\]\s*$/;

let server: Embedded;
let browser: Browser;
let recordings: string;
const desktops: OpenDesktop[] = [];

beforeAll(async () => {
  recordings = mkdtempSync(path.join(tmpdir(), 'ctos-web-recordings-'));
  [server, browser] = await Promise.all([
    startServer({ TERMINAL_RECORDING: 'on', TERMINAL_RECORDING_DIR: recordings }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  for (const desktop of desktops.splice(0)) await desktop.context.close();
  await browser?.close();
  await server?.stop();
  rmSync(recordings, { recursive: true, force: true });
});

/** Moves the player's seek bar to `fraction` of the recording, as a drag would. */
async function seekTo(page: Page, fraction: number): Promise<void> {
  await page.$eval(
    '.player-seek',
    (input, at) => {
      const range = input as unknown as { value: string; max: string; dispatchEvent(event: unknown): boolean };
      range.value = String(Math.round(Number(range.max) * at));
      const EventClass = (globalThis as unknown as { Event: new (type: string) => unknown }).Event;
      range.dispatchEvent(new EventClass('input'));
    },
    fraction,
  );
}

test('a recorded session plays back in the page: seek, play, and the last screen is the live one', async () => {
  const desktop = await openDesktop(browser, server);
  desktops.push(desktop);
  const { page } = desktop;
  const sessionId = (await openTerminal(page)).session_id ?? '';
  await run(page, "printf '\\e[1;32mgreen\\e[0m and \\e[4mplain\\e[0m 語😀\\n'; seq 1 60; echo REC-END");
  await waitForTerminalText(page, sessionId, /^REC-END$/m);
  await run(page, 'exit');
  const live = (await waitForTerminalText(page, sessionId, /\[session ended: [^\]]*\]/)).replace(ENDED_NOTICE, '');
  expect(live).toContain('REC-END');

  await launch(page, 'recordings');
  await page.click(`.recordings-play[data-recording="${sessionId}"]`);
  await page.waitForSelector('.player-seek');
  // At the start the screen is empty; at the end it is the session's last screen.
  await waitFor(async () => (await playerText(page, sessionId)) === '', { message: 'the player at the start' });
  await seekTo(page, 1);
  await waitFor(async () => (await playerText(page, sessionId)) === live, {
    message: 'the last screen after seeking to the end',
  });
  await seekTo(page, 0);
  await waitFor(async () => (await playerText(page, sessionId)) === '', {
    message: 'an empty screen after seeking back',
  });
  // Played from the start at 8×, it ends on the same screen.
  await page.selectOption('.player-speed', '8');
  await page.click('.player-play');
  await waitFor(async () => (await playerText(page, sessionId)) === live, {
    timeoutMs: 20_000,
    message: 'the last screen after playing to the end',
  });
  await waitFor(async () => (await page.textContent('.player-play')) === 'Play', {
    message: 'the player to stop at the end',
  });
  await screenshot(page, 'recording-player');
  expect(desktop.errors).toEqual([]);
});
