import { connectClient, signToken } from '@ctos/testkit';
import { measureEcho } from '../echo-loop';
import { socketEchoPath, type EchoServer } from '../echo-server';
import { killShell, ptyEchoPath, spawnShell } from '../pty-baseline';
import type { FigureRow } from '../report';
import { attempt, type RunContext } from '../run-context';
import { summarize, type Summary } from '../stats';
import { closeTerminal, createTerminal, startCat, terminalEchoPath } from '../terminal-client';

/** The two baselines of figure 1, measured in the same run. */
export interface KeystrokeBaselines {
  pty?: Summary;
  socketio?: Summary;
}

/** Issue 8: p99 within this many times the p50 of the same path. */
const P99_OVER_P50 = 3;

/** Keystroke echo against node-pty in this process, and against the bare Socket.IO echo server. */
export async function keystrokeBaselines(context: RunContext, echoServer: EchoServer | undefined) {
  const { BENCH_ECHO_ROUNDS: rounds, BENCH_ECHO_WARMUP: warmup } = context.config;
  const baselines: KeystrokeBaselines = {};
  context.progress('1 keystroke: node-pty in-process');
  baselines.pty = await attempt(context, 'keystroke baseline node-pty', async () => {
    const shell = spawnShell();
    try {
      return summarize(await measureEcho(await ptyEchoPath(shell), rounds, warmup));
    } finally {
      killShell(shell);
    }
  });
  if (echoServer) {
    context.progress('1 keystroke: bare Socket.IO echo server');
    baselines.socketio = await attempt(context, 'keystroke baseline Socket.IO', async () => {
      const socket = await connectClient(echoServer.url, undefined);
      try {
        return summarize(await measureEcho(socketEchoPath(socket), rounds, warmup));
      } finally {
        socket.close();
      }
    });
  }
  context.details.keystroke_baselines = baselines;
  return baselines;
}

/** Keystroke echo through a running system at `url` (embedded gateway or nginx), as user `user`. */
export async function keystrokeThrough(
  context: RunContext,
  mode: string,
  url: string,
  secret: string,
  user: string,
): Promise<Summary | undefined> {
  const { BENCH_ECHO_ROUNDS: rounds, BENCH_ECHO_WARMUP: warmup } = context.config;
  context.progress(`1 keystroke: ${mode}`);
  const summary = await attempt(context, `keystroke ${mode}`, async () => {
    const socket = await connectClient(url, await signToken(user, { secret }));
    try {
      const { sessionId } = await createTerminal(socket, false);
      await startCat(socket, sessionId);
      const samples = summarize(await measureEcho(terminalEchoPath(socket, sessionId), rounds, warmup));
      await closeTerminal(socket, sessionId);
      return samples;
    } finally {
      socket.close();
    }
  });
  context.details[`keystroke_${mode}`] = summary;
  return summary;
}

/** The rows of figure 1 for one mode: p50 against bare Socket.IO + budget, p99 against its own p50, max. */
export function keystrokeRows(
  mode: string,
  measured: Summary | undefined,
  baselines: KeystrokeBaselines,
  budgetMs: number,
): FigureRow[] {
  const bare = baselines.socketio;
  const p50 = measured?.p50 ?? null;
  return [
    {
      key: `keystroke.${mode}.p50`,
      figure: 1,
      label: `keystroke echo p50, ${mode}`,
      value: p50,
      unit: 'ms',
      baseline: bare?.p50 ?? null,
      baselineLabel: '(bare Socket.IO p50)',
      comparison: 'offset',
      target: `≤ baseline + ${budgetMs} ms`,
      met: p50 !== null && bare ? p50 <= bare.p50 + budgetMs : null,
      ...(baselines.pty && measured
        ? { note: `node-pty in-process p50 ${baselines.pty.p50.toFixed(3)} ms; ${measured.n} rounds` }
        : {}),
    },
    {
      key: `keystroke.${mode}.p99`,
      figure: 1,
      label: `keystroke echo p99, ${mode}`,
      value: measured?.p99 ?? null,
      unit: 'ms',
      baseline: p50,
      baselineLabel: '(own p50)',
      comparison: 'ratio',
      target: `≤ ${P99_OVER_P50} × p50`,
      met: measured ? measured.p99 <= P99_OVER_P50 * measured.p50 : null,
      // The baselines' own tails say how much of a miss is the machine (other work on the cores), not the product.
      ...(measured && baselines.pty && bare
        ? {
            note: `baselines' own p99/p50 in this run: node-pty ${(baselines.pty.p99 / baselines.pty.p50).toFixed(1)}×, bare Socket.IO ${(bare.p99 / bare.p50).toFixed(1)}×`,
          }
        : {}),
    },
    {
      key: `keystroke.${mode}.max`,
      figure: 1,
      label: `keystroke echo max, ${mode}`,
      value: measured?.max ?? null,
      unit: 'ms',
      baseline: bare?.max ?? null,
      baselineLabel: '(bare Socket.IO max)',
      comparison: 'ratio',
      target: '–',
      met: null,
    },
  ];
}

/** Reference rows: the baselines themselves, so the table shows all three paths. */
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
