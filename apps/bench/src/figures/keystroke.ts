import { connectClient } from '@ctos/testkit';
import { measureEcho } from '../echo-loop';
import { socketEchoPath, type EchoServer } from '../echo-server';
import type { FigureRow } from '../report';
import { attempt, type RunContext } from '../run-context';
import { summarize, type Summary } from '../stats';
import { echoPath, startCat, withTerminal, type PathName, type TerminalPath } from '../terminal-link';

/** The two baselines of figure 1, measured in the same run. */
export interface KeystrokeBaselines {
  pty?: Summary;
  socketio?: Summary;
}

/** Issue 17: p99 of ours within this many times bare Socket.IO's p99. */
const P99_OVER_BARE_P99 = 1.5;

/**
 * Keystroke echo through a fresh terminal on `path`: `stty raw -echo; exec cat`, then one
 * key at a time (echo-loop.ts), the same client logic on every path.
 */
export async function keystrokeOver(context: RunContext, path: TerminalPath): Promise<Summary | undefined> {
  const { BENCH_ECHO_ROUNDS: rounds, BENCH_ECHO_WARMUP: warmup } = context.config;
  context.progress(`1 keystroke: ${path.label}`);
  const summary = await attempt(context, `keystroke ${path.label}`, () =>
    withTerminal(path, false, async (link) => {
      await startCat(link);
      return summarize(await measureEcho(echoPath(link), rounds, warmup));
    }),
  );
  context.details[`keystroke_${path.key}`] = summary;
  return summary;
}

/** Keystroke echo against the bare Socket.IO echo server: no PTY, no Redis, no auth. */
export async function keystrokeSocketIo(context: RunContext, echoServer: EchoServer): Promise<Summary | undefined> {
  const { BENCH_ECHO_ROUNDS: rounds, BENCH_ECHO_WARMUP: warmup } = context.config;
  context.progress('1 keystroke: bare Socket.IO echo server');
  const summary = await attempt(context, 'keystroke bare Socket.IO', async () => {
    const socket = await connectClient(echoServer.url, undefined);
    try {
      return summarize(await measureEcho(socketEchoPath(socket), rounds, warmup));
    } finally {
      socket.close();
    }
  });
  context.details.keystroke_socketio = summary;
  return summary;
}

/**
 * The rows of figure 1 for one path: p50, p99 and max, each beside bare Socket.IO's.
 * With `budgetMs` (ours) the targets are issue 17's: p50 within `budgetMs` of bare
 * Socket.IO's, p99 within P99_OVER_BARE_P99 × its p99. Without (a peer) the rows are
 * there to compare, with no target.
 */
export function keystrokeRows(
  path: PathName,
  measured: Summary | undefined,
  baselines: KeystrokeBaselines,
  budgetMs?: number,
): FigureRow[] {
  const bare = baselines.socketio;
  const ours = budgetMs !== undefined;
  const row = (stat: 'p50' | 'p99' | 'max'): FigureRow => ({
    key: `keystroke.${path.key}.${stat}`,
    figure: 1,
    label: `keystroke echo ${stat}, ${path.label}`,
    value: measured?.[stat] ?? null,
    unit: 'ms',
    baseline: bare?.[stat] ?? null,
    baselineLabel: `(bare Socket.IO ${stat})`,
    comparison: stat === 'p50' ? 'offset' : 'ratio',
    target: ours ? '–' : '(peer)',
    met: null,
  });
  const [p50, p99, max] = [row('p50'), row('p99'), row('max')];
  if (ours) {
    p50.target = `≤ baseline + ${budgetMs} ms`;
    p50.met = measured && bare ? measured.p50 <= bare.p50 + budgetMs : null;
    p99.target = `≤ ${P99_OVER_BARE_P99} × baseline`;
    p99.met = measured && bare ? measured.p99 <= P99_OVER_BARE_P99 * bare.p99 : null;
  }
  if (measured && baselines.pty) {
    p50.note = `node-pty in-process p50 ${baselines.pty.p50.toFixed(3)} ms; ${measured.n} rounds`;
  }
  // The baselines' own tails say how much of a miss is the machine (other work on the cores), not the product.
  if (measured && baselines.pty && bare) {
    p99.note = `baselines' own p99/p50 in this run: node-pty ${(baselines.pty.p99 / baselines.pty.p50).toFixed(1)}×, bare Socket.IO ${(bare.p99 / bare.p50).toFixed(1)}×`;
  }
  return [p50, p99, max];
}

/** Reference rows: the baselines themselves, so the table shows every path. */
export function keystrokeBaselineRows(baselines: KeystrokeBaselines): FigureRow[] {
  const row = (key: string, label: string, summary: Summary | undefined): FigureRow => ({
    key,
    figure: 1,
    label,
    value: summary?.p50 ?? null,
    unit: 'ms',
    baseline: null,
    baselineLabel: '',
    comparison: 'absolute',
    target: '(baseline)',
    met: null,
    ...(summary ? { note: `p99 ${summary.p99.toFixed(3)} ms, max ${summary.max.toFixed(3)} ms` } : {}),
  });
  return [
    row('keystroke.baseline.pty.p50', 'keystroke echo p50, node-pty in-process', baselines.pty),
    row('keystroke.baseline.socketio.p50', 'keystroke echo p50, bare Socket.IO', baselines.socketio),
  ];
}
