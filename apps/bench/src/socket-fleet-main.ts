import { connectClient, signToken, type ClientSocket } from '@ctos/testkit';
import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import type { FleetCommand, FleetReply, FleetSocketSpec } from './fleet-protocol';
import { toParent, wallClockMs } from './ipc';

/** Distinct connect errors reported back; the rest are only counted. */
const ERRORS_REPORTED = 5;

/** engine.io-client passes `localAddress` to the WebSocket in Node, though its types omit it. */
interface NodeClientOptions extends Partial<ManagerOptions & SocketOptions> {
  localAddress?: string;
}

/**
 * A helper process that holds many Socket.IO client sockets for the benchmark, so the
 * client side of 10,000 sockets is spread over processes and never shares an event
 * loop with the server it measures. Commanded over IPC (see fleet-protocol.ts).
 */
const sockets: ClientSocket[] = [];
let delivered = 0;
let expected = Number.POSITIVE_INFINITY;

function reply(message: FleetReply): void {
  toParent(message);
}

function onDelivery(): void {
  delivered++;
  if (delivered === expected) reply({ type: 'reached', count: delivered, at: wallClockMs() });
}

async function connectAll(url: string, specs: FleetSocketSpec[], secret: string | undefined, concurrency: number) {
  const started = performance.now();
  const errors = new Set<string>();
  let failed = 0;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < specs.length) {
      const spec = specs[next++]!;
      try {
        const token = secret === undefined ? undefined : await signToken(spec.user, { secret, expiresIn: '2h' });
        const options: NodeClientOptions = { localAddress: spec.address, timeout: 30_000 };
        const socket = await connectClient(url, token, options);
        socket.on('message:new', onDelivery);
        sockets.push(socket);
      } catch (error) {
        failed++;
        if (errors.size < ERRORS_REPORTED) errors.add((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  reply({
    type: 'connected',
    connected: sockets.length,
    failed,
    errors: [...errors],
    ms: performance.now() - started,
  });
}

function closeAll(): void {
  for (const socket of sockets.splice(0)) socket.close();
}

process.on('message', (command: FleetCommand) => {
  switch (command.type) {
    case 'connect':
      void connectAll(command.url, command.sockets, command.secret, command.concurrency);
      break;
    case 'expect':
      expected = command.total;
      if (delivered >= expected) reply({ type: 'reached', count: delivered, at: wallClockMs() });
      break;
    case 'count':
      reply({ type: 'count', count: delivered });
      break;
    case 'close':
      closeAll();
      reply({ type: 'closed' });
      // Let the reply and the close frames go out, then end.
      setTimeout(() => process.exit(0), 200);
      break;
  }
});

process.on('SIGTERM', () => {
  closeAll();
  process.exit(0);
});

reply({ type: 'ready' });
