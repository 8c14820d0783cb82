import path from 'node:path';
import type { ClientSocket } from '@ctos/testkit';
import type { EchoPath } from './echo-loop';
import { nextMessage } from './ipc';
import type { OwnedProcess, OwnedProcesses } from './owned-processes';
import { KEY } from './shell-commands';

/** How long the echo server may take to start (ms). */
const START_TIMEOUT_MS = 20_000;

/** The bare Socket.IO echo server, running in its own process. */
export interface EchoServer {
  url: string;
  process: OwnedProcess;
}

/** Starts echo-server-main.js and waits for its port. */
export async function startEchoServer(owned: OwnedProcesses, env: Record<string, string>): Promise<EchoServer> {
  const child = owned.fork('socketio-echo', path.join(__dirname, 'echo-server-main.js'), env);
  const { port } = await nextMessage<{ type: 'listening'; port: number }>(child.child, 'listening', START_TIMEOUT_MS);
  return { url: `http://127.0.0.1:${port}`, process: child };
}

/** The bare Socket.IO round trip: `echo` out, `echo` back. */
export function socketEchoPath(socket: ClientSocket): EchoPath {
  // The echo server speaks no protocol of ours: talk to it through the untyped socket.
  const raw = socket as unknown as {
    emit(event: string, data: string): void;
    on(event: string, listener: () => void): void;
    off(event: string, listener: () => void): void;
  };
  return {
    send: () => raw.emit('echo', KEY),
    listen(onEcho) {
      raw.on('echo', onEcho);
      return () => raw.off('echo', onEcho);
    },
  };
}
