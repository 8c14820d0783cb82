/**
 * @packageDocumentation
 * The terminal-worker: real shells (node-pty) with replay, screen snapshots and flow
 * control, reached by gateways over the bus; each user's shells under their own Unix
 * account when `TERMINAL_ISOLATION=user`.
 */
export {
  loadTerminalWorkerConfig,
  terminalWorkerSettings,
  type TerminalIsolation,
  type TerminalWorkerConfig,
} from './config';
export type { AttachmentReport, FlowReport } from './flow-control';
export { isolationProblems, ISOLATION_CAPABILITIES } from './privileges';
export { createTerminalWorker, type TerminalWorker, type TerminalWorkerDeps } from './terminal-worker';
export { loginName, AccountAllocator, type UnixAccount } from './unix-account';
export { localAccountsInRange, removeLocalAccounts } from './local-accounts';
export { findSystemTools, type SystemTools } from './system-tools';
