import { rssKiB } from '../process-memory';
import { TODAY } from '../config';
import type { FigureRow } from '../report';
import { attempt, type RunContext } from '../run-context';
import { combine, SocketFleet, socketSpecs, split, type ConnectOutcome } from '../socket-fleet';
import type { ClusterSystem } from '../systems';
import type { EchoServer } from '../echo-server';
import { countFloor, rssPerItemRow } from './memory-row';

/** Client processes that share the sockets: each holds a few thousand, so no client event loop is the bottleneck. */
const FLEETS = 4;
/** Handshakes in flight per fleet: enough to keep a gateway busy, few enough not to time out on 2 cores. */
const CONCURRENCY_PER_FLEET = 16;
/** How long RSS is left to settle after the last handshake before it is read (ms). */
const SETTLE_MS = 3000;

/** What one server's part of figure 4 measured. */
interface IdleMeasurement {
  outcome: ConnectOutcome;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  rssPerSocketKiB: number;
  /** Handshakes per second while connecting. */
  connectsPerSecond: number;
}

/** Holds `count` idle sockets on the server of process `pid` at `url` and reads its RSS growth. */
async function holdIdleSockets(
  context: RunContext,
  what: string,
  url: string,
  pid: number,
  secret: string | undefined,
  firstOctet: number,
): Promise<IdleMeasurement> {
  const count = context.config.BENCH_IDLE_SOCKETS;
  const fleets = await Promise.all(
    Array.from({ length: FLEETS }, (_, i) => SocketFleet.start(context.owned, `fleet-${what}-${i}`, context.env)),
  );
  try {
    const before = rssKiB(pid);
    const parts = split(socketSpecs(`idle-${what}`, count, firstOctet), FLEETS);
    const outcome = combine(
      await Promise.all(fleets.map((fleet, i) => fleet.connect(url, parts[i]!, secret, CONCURRENCY_PER_FLEET))),
    );
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const after = rssKiB(pid);
    return {
      outcome,
      rssBeforeKiB: before,
      rssAfterKiB: after,
      rssPerSocketKiB: outcome.connected > 0 ? (after - before) / outcome.connected : 0,
      connectsPerSecond: outcome.connected / (outcome.ms / 1000),
    };
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.close()));
  }
}

/**
 * Figure 4: BENCH_IDLE_SOCKETS authenticated sockets on ONE gateway (connected to it
 * directly, from many loopback addresses and one user each, so no per-address or
 * per-user limit refuses them), and the same number on the bare Socket.IO server as
 * the baseline; RSS growth of each server per socket.
 */
export async function idleSocketsFigure(
  context: RunContext,
  system: ClusterSystem,
  echoServer: EchoServer | undefined,
): Promise<FigureRow[]> {
  const count = context.config.BENCH_IDLE_SOCKETS;
  let baseline: IdleMeasurement | undefined;
  if (echoServer) {
    context.progress(`4 idle sockets: ${count} on the bare Socket.IO server (baseline)`);
    baseline = await attempt(context, 'idle sockets baseline', () =>
      holdIdleSockets(context, 'bare', echoServer.url, echoServer.process.pid, undefined, 1),
    );
  }
  const gateway = system.gateways[0]!;
  context.progress(`4 idle sockets: ${count} on ${gateway.name} (pid ${gateway.pid})`);
  const measured = await attempt(context, 'idle sockets on a gateway', () =>
    holdIdleSockets(context, 'gateway', `http://127.0.0.1:${gateway.port}`, gateway.pid, system.cluster.jwtSecret, 3),
  );
  context.details.idle_sockets = { gateway: measured, bare_socketio: baseline };
  const floor = countFloor(TODAY.socketsPerGateway, count);
  const refused =
    measured && measured.outcome.failed > 0
      ? `; ${measured.outcome.failed} failed: ${measured.outcome.errors.join(' | ')}`
      : '';
  return [
    {
      key: 'sockets.connected',
      figure: 4,
      label: 'idle authenticated sockets on one gateway',
      value: measured?.outcome.connected ?? null,
      unit: 'sockets',
      baseline: baseline?.outcome.connected ?? null,
      baselineLabel: '(bare Socket.IO)',
      comparison: 'ratio',
      target: floor.target,
      met: measured ? measured.outcome.connected >= floor.least : null,
      ...(measured
        ? {
            note: `${Math.round(measured.connectsPerSecond)} handshakes/s (bare: ${baseline ? Math.round(baseline.connectsPerSecond) : '?'}/s)${refused}`,
          }
        : {}),
    },
    rssPerItemRow(
      {
        key: 'sockets.rss_per_socket',
        figure: 4,
        label: 'gateway RSS per idle socket',
        server: 'gateway',
        baseline: baseline?.rssPerSocketKiB ?? null,
        baselineLabel: '(bare Socket.IO)',
        todayKiB: TODAY.rssPerSocketKiB,
      },
      measured && {
        perItemKiB: measured.rssPerSocketKiB,
        beforeKiB: measured.rssBeforeKiB,
        afterKiB: measured.rssAfterKiB,
      },
    ),
  ];
}
