import path from 'node:path';
import type { FleetCommand, FleetReply, FleetSocketSpec } from './fleet-protocol';
import { nextMessage } from './ipc';
import type { OwnedProcess, OwnedProcesses } from './owned-processes';

/** How long a fleet may take to connect its sockets (ms): thousands of handshakes on a busy 2-core box. */
const CONNECT_TIMEOUT_MS = 180_000;
/** How long a helper process may take to start (ms). */
const START_TIMEOUT_MS = 20_000;
/**
 * Sockets one source address holds at most: below the gateway's default per-address
 * limit (GATEWAY_MAX_SOCKETS_PER_ADDRESS, 500), so the limit never refuses a benchmark socket.
 */
export const SOCKETS_PER_ADDRESS = 400;

type Reply<T extends FleetReply['type']> = Extract<FleetReply, { type: T }>;

/** The outcome of connecting one or more fleets. */
export interface ConnectOutcome {
  connected: number;
  failed: number;
  errors: string[];
  /** Longest time a fleet took (ms). */
  ms: number;
}

/** One helper process holding client sockets (see socket-fleet-main.ts). */
export class SocketFleet {
  private constructor(private readonly process: OwnedProcess) {}

  /** Starts a fleet process; `env` needs only PATH and HOME. */
  static async start(owned: OwnedProcesses, name: string, env: Record<string, string>): Promise<SocketFleet> {
    const child = owned.fork(name, path.join(__dirname, 'socket-fleet-main.js'), env);
    await nextMessage<Reply<'ready'>>(child.child, 'ready', START_TIMEOUT_MS);
    return new SocketFleet(child);
  }

  /** Connects `sockets` to `url`, `concurrency` handshakes at a time. */
  async connect(url: string, sockets: FleetSocketSpec[], secret: string | undefined, concurrency = 32) {
    const answer = nextMessage<Reply<'connected'>>(this.process.child, 'connected', CONNECT_TIMEOUT_MS);
    this.send({ type: 'connect', url, sockets, secret, concurrency });
    return answer;
  }

  /** Resolves with the wall-clock time (ms) at which `total` `message:new` events had arrived in all. */
  async expect(total: number, timeoutMs: number): Promise<number> {
    const answer = nextMessage<Reply<'reached'>>(this.process.child, 'reached', timeoutMs);
    this.send({ type: 'expect', total });
    return (await answer).at;
  }

  /** How many `message:new` events have arrived so far. */
  async count(): Promise<number> {
    const answer = nextMessage<Reply<'count'>>(this.process.child, 'count', START_TIMEOUT_MS);
    this.send({ type: 'count' });
    return (await answer).count;
  }

  /** Closes every socket and ends the process. */
  async close(): Promise<void> {
    if (this.process.child.connected) {
      const answer = nextMessage<Reply<'closed'>>(this.process.child, 'closed', START_TIMEOUT_MS).catch(
        () => undefined, // it may exit before answering; stop() below makes sure it is gone
      );
      this.send({ type: 'close' });
      await answer;
    }
    await this.process.stop();
  }

  private send(command: FleetCommand): void {
    this.process.child.send(command);
  }
}

/**
 * `count` sockets, one user each (`prefix-0`…), each bound to a loopback address that
 * at most {@link SOCKETS_PER_ADDRESS} of them share, starting at `127.<firstOctet>.x.1`.
 */
export function socketSpecs(prefix: string, count: number, firstOctet: number): FleetSocketSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const group = Math.floor(i / SOCKETS_PER_ADDRESS);
    return { user: `${prefix}-${i}`, address: `127.${firstOctet + Math.floor(group / 250)}.${(group % 250) + 1}.1` };
  });
}

/** Splits `items` into `parts` slices of near-equal length. */
export function split<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  return Array.from({ length: parts }, (_, i) => items.slice(i * size, (i + 1) * size));
}

/** Adds the outcomes of fleets connected in parallel. */
export function combine(outcomes: readonly ConnectOutcome[]): ConnectOutcome {
  return {
    connected: outcomes.reduce((n, o) => n + o.connected, 0),
    failed: outcomes.reduce((n, o) => n + o.failed, 0),
    errors: [...new Set(outcomes.flatMap((o) => o.errors))].slice(0, 5),
    ms: Math.max(0, ...outcomes.map((o) => o.ms)),
  };
}
