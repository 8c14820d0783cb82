import path from 'node:path';
import { connectClient, freePort } from '@ctos/testkit';
import type { Socket } from 'socket.io-client';
import { installEnv } from './config';
import { profilingEnv } from './figure-profiles';
import type { OwnedProcess } from './owned-processes';
import type { RunContext } from './run-context';
import { BENCH_SHELL, BENCH_SHELL_ARGS } from './shell-commands';
import type { PathName, TerminalLink, TerminalPath } from './terminal-link';
import { installWetty, WETTY_VERSION } from './wetty-install';

/*
 * wetty's protocol, read from the package (build/server/spawn.js and flowcontrol.js, the
 * client's src/client/wetty.ts and wetty/flowcontrol.ts in build/client/wetty.js.map):
 * Socket.IO at `<base>/socket.io`; one shell per socket, started after the handshake and
 * announced with `login`; output as `data` strings, batched for 2 ms or up to 512 KiB;
 * keys as `input`. Flow control counts characters: the client commits every 2^18 it has
 * received, and the server pauses the PTY above 2 MiB uncommitted, resuming below 512 KiB.
 */

/** What wetty's server emits. */
interface WettyServerEvents {
  login: () => void;
  logout: () => void;
  data: (data: string) => void;
}

/** What wetty's client emits. */
interface WettyClientEvents {
  input: (data: string) => void;
  resize: (size: { cols: number; rows: number }) => void;
  commit: (characters: number) => void;
}

type WettySocket = Socket<WettyServerEvents, WettyClientEvents>;

/** wetty's names in the table and in `latest.json`. */
export const WETTY: PathName = { key: 'wetty', label: `wetty ${WETTY_VERSION}` };
/** wetty's client commits output in steps of this many characters (its FlowControlClient's `ackBytes`). */
const COMMIT_CHARACTERS = 262_144;
/** How long wetty may take to start, or to start a socket's shell (ms): a cold Node start on a busy 2-core box. */
const START_TIMEOUT_MS = 30_000;
/** wetty listens where the systems under test do: loopback only. */
const HOST = '127.0.0.1';

/** wetty running as a process of the benchmark's. */
export interface WettyPeer {
  url: string;
  process: OwnedProcess;
}

/**
 * Starts wetty (installing it first when it is not in the cache) on 127.0.0.1 and a free
 * port. For a socket from localhost wetty run by root spawns `--command` on a PTY itself,
 * with no ssh and no login (build/server/command.js): the benchmark's shell, as ours run.
 * @throws Error when not root, when the install fails, or when wetty does not start.
 */
export async function startWetty(context: RunContext): Promise<WettyPeer> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'wetty runs a local shell only for root (otherwise it logs in over ssh): run the benchmark as root',
    );
  }
  const dir = path.join(context.config.cacheDir, 'wetty');
  const main = await installWetty(context.owned, dir, installEnv(), context.progress);
  const port = await freePort();
  const command = [BENCH_SHELL, ...BENCH_SHELL_ARGS].join(' ');
  const args = [main, '--host', HOST, '--port', String(port), '--command', command, '--log-level', 'info'];
  const child = context.owned.spawn('wetty', process.execPath, args, {
    ...context.env,
    ...profilingEnv(context.cpuProfileDir),
  });
  await child.waitForLine((line) => line.includes('"Server started"'), START_TIMEOUT_MS);
  return { url: `http://${HOST}:${port}`, process: child };
}

/**
 * Connects as wetty's client does, with the same Socket.IO client options as ours, and
 * resolves once wetty has started the socket's shell: it listens for input only from
 * then on. `login` follows the handshake by a process spawn, so it cannot arrive before
 * the listener is added.
 */
async function connectWetty(url: string): Promise<WettySocket> {
  const socket = (await connectClient(url, undefined)) as unknown as WettySocket;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`wetty started no shell within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      socket.once('login', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } catch (error) {
    socket.close();
    throw error;
  }
  // wetty's client sends its size at login; the benchmark's terminals are 80 × 24.
  socket.emit('resize', { cols: 80, rows: 24 });
  return socket;
}

/**
 * A wetty socket as a link: every `data` is first counted and committed as wetty's client
 * does. The listeners live as long as the socket.
 */
function wettyLink(socket: WettySocket): TerminalLink {
  let uncommitted = 0;
  socket.on('data', (data) => {
    // FlowControlClient.needsCommit: at most one commit per chunk; the rest carries over.
    uncommitted += data.length;
    if (uncommitted < COMMIT_CHARACTERS) return;
    uncommitted -= COMMIT_CHARACTERS;
    socket.emit('commit', COMMIT_CHARACTERS);
  });
  return {
    write: (data) => socket.emit('input', data),
    onOutput(listener) {
      socket.on('data', listener);
      return () => socket.off('data', listener);
    },
  };
}

/** Terminals of wetty: each a new socket, for which wetty starts a new shell and kills it at disconnect. */
export function wettyPath(peer: WettyPeer): TerminalPath {
  return {
    ...WETTY,
    async open() {
      const socket = await connectWetty(peer.url);
      return { link: wettyLink(socket), close: async () => void socket.close() };
    },
  };
}
