import { readFileSync } from 'node:fs';
import type { ClusterProcessInfo } from '@ctos/launcher';
import type { FigureRow } from '../report';
import { attempt, type RunContext } from '../run-context';
import type { ClusterSystem } from '../systems';
import { systemPath } from '../terminal-client';
import { floodTerminal, withTerminal } from '../terminal-link';

/** Issue 17: the gateways that hold no socket of a flooded session together use at most this share of the one that does. */
const MAX_SHARE = 0.05;
/** Issue 17's setting: four gateways, a flood to a socket on one of them. */
const GATEWAYS = 4;
/** `sysconf(_SC_CLK_TCK)` on Linux: /proc/<pid>/stat counts CPU time in these ticks per second. */
const CLOCK_TICKS_PER_SECOND = 100;
/**
 * How long each gateway's CPU is read with nothing to deliver, before the flood (ms): what
 * they use anyway (heartbeats, timers) at that rate over the flood is not "for it".
 */
const IDLE_WINDOW_MS = 3000;

/** CPU time process `pid` has used, user and system (ms), from /proc/<pid>/stat (proc(5)). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Issue 17's gateway figure: the cluster grows to four gateways; a client connected
 * straight to the first floods its terminal; the CPU each gateway used meanwhile is read
 * from /proc. The figure is the CPU the other three used for the flood together — what
 * they used during it less what they use idle over as long (measured just before) — beside
 * the delivering gateway's (the baseline, same run): per-room channels mean they receive
 * none of it.
 */
export async function gatewayIsolationFigure(context: RunContext, cluster: ClusterSystem): Promise<FigureRow[]> {
  const bytes = Math.min(context.config.BENCH_FLOOD_BYTES, 50_000_000);
  context.progress(`7 gateways: growing to ${GATEWAYS}, flooding ${bytes / 1e6} MB to a socket on one`);
  const result = await attempt(context, 'gateway isolation', async () => {
    const gateways: ClusterProcessInfo[] = [...cluster.gateways];
    while (gateways.length < GATEWAYS) gateways.push(await cluster.cluster.addProcess('gateway'));
    const delivering = gateways[0]!;
    const url = `http://127.0.0.1:${delivering.port}`;
    const path = systemPath(
      { key: 'gateways', label: delivering.name },
      url,
      cluster.cluster.jwtSecret,
      'bench-gateways',
    );
    const { used, idleRate, floodMs } = await withTerminal(path, true, async (link) => {
      const idleFrom = gateways.map((g) => cpuMs(g.pid));
      await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
      const idleRate = gateways.map((g, i) => (cpuMs(g.pid) - idleFrom[i]!) / IDLE_WINDOW_MS);
      const before = gateways.map((g) => cpuMs(g.pid));
      const flood = await floodTerminal(link, bytes);
      if (flood.bytes < bytes) throw new Error(`only ${flood.bytes} of ${bytes} bytes arrived`);
      return { used: gateways.map((g, i) => cpuMs(g.pid) - before[i]!), idleRate, floodMs: flood.ms };
    });
    const others = used.slice(1);
    const othersIdleMs = idleRate.slice(1).reduce((sum, rate) => sum + rate * floodMs, 0);
    const othersDuringMs = others.reduce((sum, ms) => sum + ms, 0);
    return {
      deliveringMs: used[0]!,
      othersMs: Math.max(0, othersDuringMs - othersIdleMs),
      othersDuringMs,
      othersIdleMs,
      floodMs,
      perGateway: used,
      gateways: gateways.map((g) => g.name),
    };
  });
  context.details.gateway_isolation = result;
  return [
    {
      key: 'gateways.others_cpu',
      figure: 7,
      label: `CPU of the ${GATEWAYS - 1} gateways without a socket in a flooded session`,
      value: result?.othersMs ?? null,
      unit: 'ms',
      baseline: result?.deliveringMs ?? null,
      baselineLabel: '(the delivering gateway)',
      comparison: 'ratio',
      target: `≤ ${MAX_SHARE} × baseline`,
      met: result ? result.othersMs <= MAX_SHARE * result.deliveringMs : null,
      note: result
        ? `CPU time from /proc, in ${1000 / CLOCK_TICKS_PER_SECOND} ms ticks: the other gateways used ` +
          `${Math.round(result.othersDuringMs)} ms during the ${Math.round(result.floodMs)} ms flood, ` +
          `${Math.round(result.othersIdleMs)} ms of it their idle rate (measured over ${IDLE_WINDOW_MS} ms before)`
        : undefined,
    },
  ];
}
