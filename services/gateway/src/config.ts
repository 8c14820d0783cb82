import { z } from 'zod';
import { commonSettings, ConfigError, parseConfig, setting } from '@ctos/runtime';

/** Environment variables of the gateway, with their defaults. */
export const gatewaySettings = {
  ...commonSettings,
  /** Port of Socket.IO and the HTTP endpoints; the seed's 8089. */
  PORT: setting.port(8089),
  /** HS256 secret that signs users' tokens (at least 32 characters). */
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** If set, tokens must carry this `iss`. */
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  /** If set, tokens must carry this `aud`. */
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  /**
   * Origins allowed to open a socket (comma-separated, e.g. `https://os.example.com`).
   * Empty: only the page's own origin (Origin host equal to the Host header).
   */
  ALLOWED_ORIGINS: setting.list([]),
  /** Transports offered, in order (`websocket,polling`; see P10 for why polling needs affinity). */
  SOCKET_TRANSPORTS: setting
    .list(['websocket', 'polling'])
    .pipe(z.array(z.enum(['websocket', 'polling'])).min(1, 'needs at least one of websocket, polling')),
  /** Socket.IO heartbeat period (ms); below any proxy's read timeout (P13). */
  SOCKET_PING_INTERVAL_MS: setting.int(25_000, 1000),
  /** How long a missing pong is tolerated (ms). */
  SOCKET_PING_TIMEOUT_MS: setting.int(20_000, 1000),
  /** Largest Socket.IO message accepted (bytes); bigger ones close the connection. */
  SOCKET_MAX_PAYLOAD_BYTES: setting.int(1024 * 1024, 1024),
  /** Largest `terminal:input` data (bytes, UTF-8); bigger gets LIMIT_EXCEEDED. */
  TERMINAL_MAX_INPUT_BYTES: setting.int(64 * 1024, 1),
  /** How long the gateway waits for a worker's reply (ms). */
  BUS_REQUEST_TIMEOUT_MS: setting.int(5000, 100),
  /** Sockets this gateway takes before refusing new ones. */
  GATEWAY_MAX_SOCKETS: setting.int(20_000, 1),
  /** Sockets one user may hold on this gateway (tabs, devices); more gets LIMIT_EXCEEDED. */
  GATEWAY_MAX_SOCKETS_PER_USER: setting.int(50, 1),
  /** Sockets one source address may hold on this gateway; more gets LIMIT_EXCEEDED. */
  GATEWAY_MAX_SOCKETS_PER_ADDRESS: setting.int(500, 1),
  /** Take the client address from X-Forwarded-For (only behind our own proxy, e.g. nginx). */
  GATEWAY_TRUST_PROXY: setting.bool(false),
  /**
   * Sustained request events per socket (per second): everything but terminal input,
   * resize and ack, which have their own limits. Beyond it gets RATE_LIMITED.
   */
  GATEWAY_EVENTS_PER_SECOND: setting.int(50, 1),
  /** Burst of request events per socket before the rate applies (a page reload restoring windows). */
  GATEWAY_EVENTS_BURST: setting.int(100, 1),
  /**
   * On SIGTERM the gateway closes its sockets spread over this window (ms), each at a
   * uniformly random moment in it, so that their clients' reconnects reach the other
   * gateways spread out, not all at once; 0 closes them all at once. The gateway's drain
   * cap (10 s) grows by it, so a drain takes at most 10 s plus the window: keep a
   * container's stop grace period (compose's 30 s, Kubernetes' 30 s less a 5 s preStop)
   * above that.
   */
  GATEWAY_DRAIN_WINDOW_MS: setting.int(2000, 0, 10_000),
  /** Where terminal-workers write recordings (the same folder, or volume, as theirs): served to their owners. */
  TERMINAL_RECORDING_DIR: z
    .string()
    .startsWith('/', 'must be an absolute path')
    .default('/var/lib/ctos-realtime/recordings'),
  /** Sustained `terminal:input` per socket (bytes/s); beyond it gets RATE_LIMITED. */
  TERMINAL_INPUT_BYTES_PER_SECOND: setting.int(1024 * 1024, 1),
  /** Burst of `terminal:input` per socket (bytes) before the rate applies, e.g. a large paste. */
  TERMINAL_INPUT_BURST_BYTES: setting.int(2 * 1024 * 1024, 1),
};

/** The gateway's parsed configuration. */
export type GatewayConfig = z.output<z.ZodObject<typeof gatewaySettings>>;

/**
 * Parses the gateway's settings from `env` (default: this process's).
 * @throws ConfigError listing every bad value.
 */
export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const config = parseConfig(z.object(gatewaySettings), env);
  const problems: string[] = [];
  if (config.TERMINAL_MAX_INPUT_BYTES * 2 > config.SOCKET_MAX_PAYLOAD_BYTES) {
    // UTF-8 input can be up to twice its byte count once JSON-escaped: keep room for a
    // clear LIMIT_EXCEEDED before the transport would drop the connection.
    problems.push('SOCKET_MAX_PAYLOAD_BYTES must be at least twice TERMINAL_MAX_INPUT_BYTES');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
