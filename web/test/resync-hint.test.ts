import type { Embedded } from '@ctos/launcher';
import { rooms } from '@ctos/protocol';
import { connectClient, signToken, waitFor } from '@ctos/testkit';
import type { Browser } from 'playwright-core';
import {
  connection,
  launchBrowser,
  openDesktop,
  openTerminal,
  run,
  startServer,
  TEST_SECRET,
  TEST_USER,
  waitForTerminalText,
  type OpenDesktop,
} from './support/desktop';

/**
 * `connection:resync` on the page (docs/decisions/0011): the connection stays up, and the
 * page catches up by position on what it missed — a terminal from its `seq`, messages
 * from the last id it has. The test makes the page's socket miss room events by taking
 * it out of its rooms for a while (as a gateway whose Redis subscription was cut would
 * miss them), then sends the hint as a gateway does after such a gap.
 */

/** The page's messages as `window.ctos.messages()` reports them (this file is compiled without DOM types). */
interface PageGlobals {
  ctos: { messages(): { unread: number; ids: number[] } };
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

/** Posts a message to the test user through the producer API; returns its id. */
async function post(title: string): Promise<number> {
  const response = await fetch(`${server.messageApi.url}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.messageApi.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: TEST_USER, source: 'resync-test', title }),
  });
  const body = (await response.json()) as { messages?: { id: number }[] };
  if (!response.ok || !body.messages?.[0]) throw new Error(`POST /messages: ${response.status}`);
  return body.messages[0].id;
}

test('after connection:resync the page shows the terminal output and the message it missed, on the same connection', async () => {
  const desktop = await openDesktop(browser, server);
  desktops.push(desktop);
  const { page } = desktop;
  const term = await openTerminal(page);
  const sessionId = term.session_id!;
  await waitForTerminalText(page, sessionId, /[$#]\s*$/);
  const sockets = [...server.gateway.io.of('/').sockets.values()].filter((s) => s.data.user === TEST_USER);
  expect(sockets).toHaveLength(1);
  const socket = sockets[0]!;

  // The page's socket misses room events: its output and a message go by unheard.
  await socket.leave(rooms.terminal(sessionId));
  await socket.leave(rooms.user(TEST_USER));
  const since = server.terminalWorker.sessions.get(sessionId)!.seq;
  await run(page, 'echo MISSED-$((6*7))');
  // Until the shell's next prompt is out (read through a socket of the test's own).
  const reader = await connectClient(server.url, await signToken(TEST_USER, { secret: TEST_SECRET }));
  try {
    await waitFor(
      async () => {
        const replay = await reader.emitWithAck('terminal:attach', { session_id: sessionId, since });
        return replay.success && /MISSED-42\r\n[^]*[$#] $/.test(replay.data);
      },
      { message: 'the shell to answer and prompt again' },
    );
  } finally {
    reader.close();
  }
  const messageId = await post('Sent while the page was not listening');
  await socket.join([rooms.terminal(sessionId), rooms.user(TEST_USER)]);
  expect(await terminalLines(page, sessionId)).not.toContain('MISSED-42');

  server.gateway.io.local.emit('connection:resync', { reason: 'room_events_lost' });

  const text = await waitForTerminalText(page, sessionId, /^MISSED-42$/m);
  expect(text.split('\n').filter((line) => line === 'MISSED-42')).toHaveLength(1);
  await waitFor(
    () => page.evaluate((id) => (globalThis as unknown as PageGlobals).ctos.messages().ids.includes(id), messageId),
    { message: 'the missed message in the message centre' },
  );
  // The same connection throughout: nothing reconnected.
  expect(socket.connected).toBe(true);
  expect((await connection(page)).phase).toBe('connected');
  expect([...server.gateway.io.of('/').sockets.values()].filter((s) => s.data.user === TEST_USER)).toEqual([socket]);
  expect(desktop.errors).toEqual([]);
});

/** The terminal's lines as the page shows them. */
async function terminalLines(page: OpenDesktop['page'], sessionId: string): Promise<string[]> {
  const text = await page.evaluate(
    (id) => (globalThis as unknown as { ctos: { terminalText(id: string): string | undefined } }).ctos.terminalText(id),
    sessionId,
  );
  return (text ?? '').split('\n');
}
