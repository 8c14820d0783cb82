import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Embedded } from '@ctos/launcher';
import { connectClient, signToken, waitFor, type ClientSocket } from '@ctos/testkit';
import type { Browser, Page } from 'playwright-core';
import {
  closeEverySession,
  connection,
  launchBrowser,
  openDesktop,
  openTerminal,
  run,
  startServer,
  TEST_SECRET,
  TEST_USER,
  waitForConnected,
  waitForTerminalText,
  type OpenDesktop,
} from './support/desktop';

/**
 * The replay buffer of this file's server (bytes): the sessions that run one script keep
 * their whole output in it (under 1 KB), and the one that prints {@link EVICTING_LINES}
 * first pushes its start out, so its attach answers with a screen snapshot.
 */
const REPLAY_BYTES = 4096;
/** `seq 1 2000` prints about 9 KB: twice the replay buffer. */
const EVICTING_LINES = 2000;

/**
 * What programs ask a terminal (vim, less, prompts), each with the last character of
 * xterm.js's answer, up to which bash reads it: cursor position (DSR 6 and DECXCPR),
 * status, primary and secondary device attributes, a mode (DECRQM), the background
 * colour (OSC 11) and a setting (DECRQSS).
 */
const QUERIES = [
  { name: 'cpr', query: '\\033[6n', last: 'R' },
  { name: 'decxcpr', query: '\\033[?6n', last: 'R' },
  { name: 'status', query: '\\033[5n', last: 'n' },
  { name: 'da1', query: '\\033[c', last: 'c' },
  { name: 'da2', query: '\\033[>c', last: 'c' },
  { name: 'decrqm', query: '\\033[?2004$p', last: 'y' },
  { name: 'osc11', query: '\\033]11;?\\033\\\\', last: '\\' },
  { name: 'decrqss', query: '\\033P$qm\\033\\\\', last: '\\' },
];

/**
 * `bash SCRIPT ask MARK` sends each query and reads its answer (a live terminal must
 * answer), prints them (`cpr=$'\E[3;1' …`) and `answered-MARK`; `bash SCRIPT tell MARK`
 * sends the queries without waiting for answers and prints `told-MARK`. Then both wait
 * for `@` and print what the terminal sent meanwhile, as bash quotes it: `junk=<''>` when
 * nothing came, as it must when the page only replayed the queries.
 */
const SCRIPT = [
  'ask() {',
  "  local answer=''",
  '  printf "$2"',
  '  IFS= read -rs -t 5 -d "$3" answer',
  `  printf '%s=%q ' "$1" "$answer"`,
  '}',
  'case $1 in',
  `  ask) ${QUERIES.map((q) => `ask ${q.name} '${q.query}' '${q.last}'`).join('; ')}; echo; echo "answered-$2" ;;`,
  `  tell) printf '${QUERIES.map((q) => q.query).join('')}'; echo "told-$2" ;;`,
  'esac',
  'IFS= read -rs -d @ junk',
  `printf 'junk=<%q>\\n' "$junk"`,
  '',
].join('\n');

const scriptPath = path.join(tmpdir(), `ctos-terminal-queries-${randomBytes(4).toString('hex')}.sh`);
let server: Embedded;
let browser: Browser;
const desktops: OpenDesktop[] = [];
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  writeFileSync(scriptPath, SCRIPT, { mode: 0o644 });
  [server, browser] = await Promise.all([
    startServer({ TERMINAL_REPLAY_BYTES: String(REPLAY_BYTES) }),
    launchBrowser(),
  ]);
});

afterEach(async () => {
  for (const desktop of desktops.splice(0)) await desktop.context.close();
  await closeEverySession(await observer());
  for (const socket of sockets.splice(0)) socket.close();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(scriptPath, { force: true });
});

async function desktop(): Promise<OpenDesktop> {
  const opened = await openDesktop(browser, server);
  desktops.push(opened);
  return opened;
}

/** A second client of the same user, as another tab would be. */
async function observer(): Promise<ClientSocket> {
  const socket = await connectClient(server.url, await signToken(TEST_USER, { secret: TEST_SECRET }));
  sockets.push(socket);
  return socket;
}

function unique(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

function windowOf(id: string): string {
  return `.window[data-key="terminal:${id}"]`;
}

/** Runs the script's `ask` part in the focused terminal and checks that every query was answered live. */
async function askLive(page: Page, id: string, mark: string): Promise<void> {
  await run(page, `bash ${scriptPath} ask ${mark}`);
  const text = await waitForTerminalText(page, id, new RegExp(`^answered-${mark}$`, 'm'));
  for (const { name } of QUERIES) expect(text).toMatch(new RegExp(`${name}=\\$'\\\\E`));
}

/**
 * What the terminal attach of a reloaded page gets now: whether it starts with a screen
 * snapshot, and whether the queries are in it (asked by another client of the user).
 */
async function peekAttach(id: string): Promise<{ snapshot: boolean; queried: boolean }> {
  const response = await (await observer()).emitWithAck('terminal:attach', { session_id: id, flow_control: false });
  if (!response.success) throw new Error(`attach failed: ${response.error}`);
  return { snapshot: response.snapshot, queried: response.data.includes('\x1b[6n') };
}

/**
 * Ends the script's wait with `@` and returns what the shell received before it (`''`
 * when nothing), then checks that the shell's next command line runs clean.
 */
async function typedIntoShell(page: Page, id: string): Promise<string> {
  await page.click(`${windowOf(id)} .xterm`);
  await page.keyboard.type('@');
  const junk = /^junk=<(.*)>$/m.exec(await waitForTerminalText(page, id, /^junk=<.*>$/m))?.[1];
  const clean = unique('clean-');
  await run(page, `echo ${clean}`);
  const text = await waitForTerminalText(page, id, new RegExp(`^${clean}$`, 'm'));
  expect(text).not.toMatch(/command not found/);
  return junk ?? '';
}

test('after a reload, the replayed queries go unanswered while live ones were answered', async () => {
  const { page } = await desktop();
  const id = (await openTerminal(page)).session_id ?? '';
  const mark = unique('m');
  await askLive(page, id, mark);
  // The reloaded page's attach replays the output, queries included, without a snapshot.
  expect(await peekAttach(id)).toEqual({ snapshot: false, queried: true });
  await page.reload();
  await waitForConnected(page);
  await waitForTerminalText(page, id, new RegExp(`^answered-${mark}$`, 'm'));
  expect(await typedIntoShell(page, id)).toBe("''");
});

test('after a dropped connection, the queries replayed on the reattach go unanswered', async () => {
  const { page, context } = await desktop();
  const id = (await openTerminal(page)).session_id ?? '';
  await context.setOffline(true);
  await waitFor(async () => (await connection(page)).phase !== 'connected', { timeoutMs: 15_000 });
  // Another client of the user runs the queries while the page is away: nobody answers them.
  const watcher = await observer();
  const seen: string[] = [];
  watcher.on('terminal:output', (event) => {
    if (event.session_id === id) seen.push(event.data);
  });
  const attached = await watcher.emitWithAck('terminal:attach', { session_id: id, flow_control: false });
  expect(attached.success).toBe(true);
  const mark = unique('m');
  watcher.emit('terminal:input', { session_id: id, data: `bash ${scriptPath} tell ${mark}\r` });
  await waitFor(() => seen.join('').includes(`told-${mark}`), { message: 'the queries to be sent' });
  // Back online, the page re-attaches from its position and gets the queries in the replay.
  await context.setOffline(false);
  await waitForConnected(page, 20_000);
  await waitForTerminalText(page, id, new RegExp(`^told-${mark}$`, 'm'));
  expect(await typedIntoShell(page, id)).toBe("''");
});

test('after a reload whose replay starts with a screen snapshot, the replayed queries go unanswered', async () => {
  const { page } = await desktop();
  const id = (await openTerminal(page)).session_id ?? '';
  await run(page, `seq 1 ${EVICTING_LINES}`);
  await waitForTerminalText(page, id, new RegExp(`^${EVICTING_LINES}$`, 'm'));
  const mark = unique('m');
  await askLive(page, id, mark);
  // The start of the output has left the replay buffer: the attach sends a snapshot, then the queries.
  expect(await peekAttach(id)).toEqual({ snapshot: true, queried: true });
  await page.reload();
  await waitForConnected(page);
  await waitForTerminalText(page, id, new RegExp(`^answered-${mark}$`, 'm'));
  expect(await typedIntoShell(page, id)).toBe("''");
});
