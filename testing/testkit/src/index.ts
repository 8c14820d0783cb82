/**
 * @packageDocumentation
 * Test helpers: real Redis (shared, or one of the test's own), real service processes,
 * real Socket.IO clients, tokens, and polling waits.
 */
export { connectClient, OutputCollector, type ClientSocket, type OutputCollectorOptions } from './client';
export { TerminalStream, type OutputChunk, type ReplayAnswer } from './terminal-stream';
export { asOrdinaryUser, isolatedAccounts, isolatedUids, type IsolatedAccounts, type IsolatedUids } from './accounts';
export { freePort } from './ports';
export { REPO_ROOT, runServiceToExit, startService, type RunToExitOptions, type ServiceProcess } from './processes';
export {
  deletePrefix,
  SHARED_REDIS_URL,
  startOwnRedis,
  uniquePrefix,
  type OwnRedis,
  type OwnRedisOptions,
} from './redis';
export { signToken, TEST_JWT_SECRET, type TokenOptions } from './tokens';
export { waitFor, waitForValue, type WaitOptions } from './wait-for';
export { Gate } from './gate';
export { BUILDS, transportFactory, type Build, type TransportFactory } from './transports';
