import type { FigureRow } from '../report';
import { attempt, type RunContext } from '../run-context';
import { floodTerminal, withTerminal, type FloodResult, type PathName, type TerminalPath } from '../terminal-link';
import { WETTY } from '../wetty';

/** What figure 2 holds every path against, measured in the same run (MB/s): node-pty in this process, and wetty. */
export interface ThroughputBaselines {
  pty?: number;
  wetty?: number;
}

/** The least share of each baseline a path must reach; a baseline with none is shown beside it without a target. */
export type ThroughputTargets = { [baseline in keyof ThroughputBaselines]?: number };

/** MB/s (10^6 bytes per second) of `bytes` delivered in `ms`. */
function megabytesPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/**
 * The flood through a fresh terminal on `path`, read by a client that acknowledges as
 * that path's own client does (MB/s): the same client logic on every path.
 */
export async function throughputOver(context: RunContext, path: TerminalPath): Promise<number | undefined> {
  const bytes = context.config.BENCH_FLOOD_BYTES;
  context.progress(`2 throughput: ${path.label}, ${bytes / 1e6} MB`);
  const result = await attempt(context, `throughput ${path.label}`, () =>
    withTerminal(path, true, async (link): Promise<FloodResult> => {
      const flood = await floodTerminal(link, bytes);
      if (flood.bytes < bytes) throw new Error(`only ${flood.bytes} of ${bytes} bytes arrived`);
      return flood;
    }),
  );
  context.details[`throughput_${path.key}`] = result;
  return result ? megabytesPerSecond(bytes, result.ms) : undefined;
}

/**
 * Figure 2's rows for one path: its rate beside node-pty's and, for ours, beside wetty's,
 * each with the target `targets` gives it. Without `targets` (a peer, or a baseline)
 * one row beside node-pty, to compare.
 */
export function throughputRows(
  path: PathName,
  value: number | undefined,
  baselines: ThroughputBaselines,
  targets?: ThroughputTargets,
): FigureRow[] {
  const row = (against: keyof ThroughputBaselines, againstLabel: string): FigureRow => {
    const baseline = baselines[against];
    const share = targets?.[against];
    return {
      key: `throughput.${path.key}${against === 'pty' ? '' : `.vs_${against}`}`,
      figure: 2,
      label: `output throughput to an acking client, ${path.label}`,
      value: value ?? null,
      unit: 'MB/s',
      baseline: baseline ?? null,
      baselineLabel: `(${againstLabel})`,
      comparison: 'ratio',
      target: share !== undefined ? `≥ ${share} × baseline` : targets ? '–' : '(peer)',
      met: share !== undefined && value !== undefined && baseline !== undefined ? value >= share * baseline : null,
    };
  };
  return targets ? [row('pty', 'node-pty in-process'), row('wetty', WETTY.label)] : [row('pty', 'node-pty in-process')];
}
