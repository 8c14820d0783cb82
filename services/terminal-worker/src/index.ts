/**
 * @packageDocumentation
 * The terminal-worker: real shells (node-pty) with replay, screen snapshots and flow
 * control, reached by gateways over the bus.
 */
export { loadTerminalWorkerConfig, terminalWorkerSettings, type TerminalWorkerConfig } from './config';
export { createTerminalWorker, type TerminalWorker, type TerminalWorkerDeps } from './terminal-worker';
