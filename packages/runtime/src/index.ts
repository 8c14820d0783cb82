/**
 * @packageDocumentation
 * What every ctos-realtime process shares: configuration parsing, JSON logs, the
 * operational HTTP endpoints, resource ownership, orderly shutdown, and where terminal
 * recordings live.
 */
export { ConfigError, FILE_SUFFIX, parseConfig, setting } from './config';
export { createLogger, type Logger, type LoggerOptions } from './logger';
export { createMetricsRegistry, createOpsApp, type ReadinessCheck } from './ops-server';
export { DEFAULT_SHUTDOWN_TIMEOUT_MS, exitOnSignal, guardProcess } from './shutdown';
export { commonSettings, type CommonConfig } from './common-settings';
export { runServiceProcess, type ServiceProcessOptions } from './service-process';
export { redisOutageLog, type RedisOutageHooks } from './redis-outage-log';
export { isDistributed, loadConfigOrExit, requireRedis, type RedisChoice } from './load-config';
export { LapsingHold } from './lapsing-hold';
export { TokenBucket } from './token-bucket';
export { HandoffReport } from './handoff-report';
export { pendingAfter } from './pending-after';
export {
  ASCIICAST_CONTENT_TYPE,
  RECORDING_ID_PATTERN,
  listRecordings,
  pruneRecordings,
  recordingFile,
  recordingFolder,
  type AsciicastHeader,
} from './recordings';
