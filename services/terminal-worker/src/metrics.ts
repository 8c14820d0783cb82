import { Counter, Gauge, type Registry } from 'prom-client';
import type { FlowReport } from './flow-control';
import { SNAPSHOT_REASONS, type ReplayObserver } from './replay-buffer';

/** The terminal-worker's own metrics. */
export interface TerminalWorkerMetrics {
  /** Sessions ended, by reason (`exit`, `closed`, `timeout`…). */
  closed: Counter<'reason'>;
  /** Bytes of PTY output handed to the transport. */
  outputBytes: Counter;
  /** PTYs paused by flow control. */
  flowPauses: Counter;
  /** Acking clients that stopped holding a PTY at the stall limit. */
  flowStallReleases: Counter;
  /** Counts what sessions' replay buffers evict, and the attaches answered with a snapshot. */
  replay: ReplayObserver;
  /** A session ended: its peak of unacknowledged bytes stays in the worker's peak. */
  sessionEnded(report: FlowReport): void;
}

/** What the gauges read from each live session when scraped. */
interface ReportingSession {
  readonly isPaused: boolean;
  flowReport(): FlowReport;
}

/**
 * Registers the terminal-worker's metrics on `registry`; the gauges read the live
 * sessions (`sessions()`) when scraped.
 */
export function createTerminalWorkerMetrics(
  registry: Registry,
  sessions: () => Iterable<ReportingSession>,
): TerminalWorkerMetrics {
  const reports = () => [...sessions()].map((session) => session.flowReport());
  /** The highest peak of the sessions that have ended. */
  let endedPeak = 0;
  new Gauge({
    name: 'ctos_terminal_sessions',
    help: 'Live PTY sessions on this worker.',
    registers: [registry],
    collect() {
      this.set([...sessions()].length);
    },
  });
  new Gauge({
    name: 'ctos_terminal_sessions_paused',
    help: 'Sessions whose PTY is paused by flow control.',
    registers: [registry],
    collect() {
      this.set([...sessions()].filter((s) => s.isPaused).length);
    },
  });
  new Gauge({
    name: 'ctos_terminal_flow_unacked_peak_bytes',
    help: 'The most unacknowledged output any session of this worker has held since it started (bytes); flow control keeps it at most TERMINAL_FLOW_HIGH_BYTES plus one PTY read.',
    registers: [registry],
    collect() {
      this.set(Math.max(endedPeak, ...reports().map((r) => r.peakUnackedBytes)));
    },
  });
  new Gauge({
    name: 'ctos_terminal_output_pending_bytes',
    help: 'Output read from PTYs and not yet handed to the transport, all sessions together (bytes).',
    registers: [registry],
    collect() {
      this.set(reports().reduce((sum, r) => sum + r.pendingBytes, 0));
    },
  });
  return {
    closed: new Counter({
      name: 'ctos_terminal_sessions_closed_total',
      help: 'Sessions ended, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    outputBytes: new Counter({
      name: 'ctos_terminal_output_bytes_total',
      help: 'Bytes of PTY output sent to clients.',
      registers: [registry],
    }),
    flowPauses: new Counter({
      name: 'ctos_terminal_flow_pauses_total',
      help: 'Times flow control paused a PTY (a client more than TERMINAL_FLOW_HIGH_BYTES behind, or held output).',
      registers: [registry],
    }),
    flowStallReleases: new Counter({
      name: 'ctos_terminal_flow_stall_releases_total',
      help: 'Acking clients that stopped holding a paused PTY after TERMINAL_FLOW_STALL_MS without an ack.',
      registers: [registry],
    }),
    replay: replayMetrics(registry),
    sessionEnded(report) {
      endedPeak = Math.max(endedPeak, report.peakUnackedBytes);
    },
  };
}

/**
 * The replay buffers' counters (decision 0004). Each snapshot reason is exported at 0 from
 * the start, so a rule's `rate()` sees the first snapshot of a worker's life too.
 */
function replayMetrics(registry: Registry): ReplayObserver {
  const evictedBytes = new Counter({
    name: 'ctos_terminal_replay_evicted_bytes_total',
    help: 'Output that left the replay buffers of sessions (TERMINAL_REPLAY_BYTES each) to make room for newer output (bytes); a client away while it left gets a screen snapshot when it attaches.',
    registers: [registry],
  });
  const snapshots = new Counter({
    name: 'ctos_terminal_attach_snapshots_total',
    help: 'Attaches answered with a screen snapshot instead of a replay alone, by reason: evicted (the position the client gave had left the replay buffer), no_position (it gave none, and the buffer no longer starts at 0).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of SNAPSHOT_REASONS) snapshots.inc({ reason }, 0);
  return {
    evicted: (bytes) => evictedBytes.inc(bytes),
    snapshot: (reason) => snapshots.inc({ reason }),
  };
}
