import { Counter, Gauge, type Registry } from 'prom-client';

/** The terminal-worker's own metrics. */
export interface TerminalWorkerMetrics {
  /** Sessions ended, by reason (`exit`, `closed`, `timeout`…). */
  closed: Counter<'reason'>;
  /** Bytes of PTY output handed to the transport. */
  outputBytes: Counter;
}

/**
 * Registers the terminal-worker's metrics on `registry`; the two gauges read the live
 * sessions (`sessions()`) when scraped.
 */
export function createTerminalWorkerMetrics(
  registry: Registry,
  sessions: () => Iterable<{ readonly isPaused: boolean }>,
): TerminalWorkerMetrics {
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
  };
}
