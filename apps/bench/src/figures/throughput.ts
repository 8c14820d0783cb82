import { connectClient, signToken } from '@ctos/testkit';
import { floodPty, killShell, spawnShell } from '../pty-baseline';
import type { FigureRow } from '../report';
import { attempt, type RunContext } from '../run-context';
import { closeTerminal, createTerminal, floodTerminal, type FloodResult } from '../terminal-client';

/** Issue 8: an acking client gets at least this share of what node-pty in-process reads. */
const MIN_SHARE_OF_PTY = 0.5;

/** MB/s (10^6 bytes per second) of `bytes` delivered in `ms`. */
function megabytesPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** The flood read straight from node-pty in this process (MB/s). */
export async function throughputBaseline(context: RunContext): Promise<number | undefined> {
  const bytes = context.config.BENCH_FLOOD_BYTES;
  context.progress(`2 throughput: node-pty in-process, ${bytes / 1e6} MB`);
  const result = await attempt(context, 'throughput baseline node-pty', async () => {
    const shell = spawnShell();
    try {
      return await floodPty(shell, bytes);
    } finally {
      killShell(shell);
    }
  });
  context.details.throughput_baseline = result;
  return result ? megabytesPerSecond(bytes, result.ms) : undefined;
}

/** The flood through a system at `url`, read by a client that acknowledges as the web client does (MB/s). */
export async function throughputThrough(
  context: RunContext,
  mode: string,
  url: string,
  secret: string,
  user: string,
): Promise<number | undefined> {
  const bytes = context.config.BENCH_FLOOD_BYTES;
  context.progress(`2 throughput: ${mode}, ${bytes / 1e6} MB`);
  const result = await attempt(context, `throughput ${mode}`, async (): Promise<FloodResult> => {
    const socket = await connectClient(url, await signToken(user, { secret }));
    try {
      const { sessionId } = await createTerminal(socket, true);
      const flood = await floodTerminal(socket, sessionId, bytes);
      if (flood.bytes < bytes) throw new Error(`only ${flood.bytes} of ${bytes} bytes arrived`);
      await closeTerminal(socket, sessionId);
      return flood;
    } finally {
      socket.close();
    }
  });
  context.details[`throughput_${mode}`] = result;
  return result ? megabytesPerSecond(bytes, result.ms) : undefined;
}

/** Figure 2's row for one mode. */
export function throughputRow(mode: string, value: number | undefined, baseline: number | undefined): FigureRow {
  return {
    key: `throughput.${mode}`,
    figure: 2,
    label: `output throughput to an acking client, ${mode}`,
    value: value ?? null,
    unit: 'MB/s',
    baseline: baseline ?? null,
    baselineLabel: '(node-pty in-process)',
    comparison: 'ratio',
    target: `≥ ${MIN_SHARE_OF_PTY} × baseline`,
    met: value !== undefined && baseline !== undefined ? value >= MIN_SHARE_OF_PTY * baseline : null,
  };
}
