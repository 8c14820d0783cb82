import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FILE_SUFFIX, type Logger } from '@ctos/runtime';
import { withRedisPassword } from '@ctos/transport';
import { SignJWT } from 'jose';
import { loadClusterConfig, type ClusterConfig } from './cluster-config';
import {
  checkNginxConfig,
  findNginx,
  nginxArgs,
  writeNginxPrefix,
  writeUpstreams,
  type NginxPrefix,
  type UpstreamAddress,
} from './cluster-nginx';
import { planClusterIsolation } from './cluster-isolation';
import { ManagedProcess, START_TIMEOUT_MS, type ProcessExit } from './cluster-process';

/** The repository root (this file is in apps/launcher/src or dist). */
const REPO_ROOT = path.resolve(__dirname, '../../..');

/** Every process binds loopback: nginx is the only door, as in docker-compose. */
const LOOPBACK = '127.0.0.1';

/** Poll period while waiting for nginx or Redis to answer (ms). */
const POLL_MS = 25;

/** Log levels that would hide the `listening` lines the launcher reads. */
const QUIETER_THAN_INFO = new Set(['warn', 'error', 'fatal', 'silent']);

/** The services the launcher runs from their compiled entry points. */
export type ClusterRole = 'gateway' | 'terminal-worker' | 'ai-worker' | 'message-worker';

/** Settings only the launcher reads: never passed on to a service. */
const LAUNCHER_ONLY = [
  'CLUSTER_STATE_DIR',
  'CLUSTER_GATEWAYS',
  'CLUSTER_TERMINAL_WORKERS',
  'CLUSTER_AI_WORKERS',
  'CLUSTER_MESSAGE_WORKERS',
  'CLUSTER_USER',
  'CLUSTER_TOKEN_TTL_S',
  'WEB_DIST_DIR',
];

/**
 * Secrets, each given only to the role that needs it (see `startRole`) and only as a file
 * named by `X_FILE`, never in an environment or on a command line: those are readable
 * through /proc by the process's own user, which a shell may be.
 */
const SECRET_VARIABLES = ['AUTH_JWT_SECRET', 'ANTHROPIC_API_KEY', 'MESSAGE_API_TOKENS', 'REDIS_PASSWORD'];

/** The files holding them in the state folder's `secrets/`, named as docker-compose.yml names them. */
const SECRET_FILES = {
  jwtSecret: 'auth_jwt_secret',
  redisPassword: 'redis_password',
  messageApiTokens: 'message_api_tokens',
  anthropicApiKey: 'anthropic_api_key',
} as const;

/**
 * The state folder may be entered by everyone but listed by no one: users' homes may live
 * below it, while `secrets/`, `logs/` and `redis/` are the launcher user's alone (0700).
 */
const STATE_DIR_MODE = 0o711;
/** Folders and files only the launcher's user may read. */
const PRIVATE_DIR_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;

/**
 * How each role is started. Its port variables are set to 0 (any free port); the real
 * ports are read from its log: `announces` maps a log message to the name the port gets
 * in cluster.json. The first is the process's main `port`.
 */
const ROLE_SPECS: Record<ClusterRole, { script: string; portVariables: string[]; announces: Record<string, string> }> =
  {
    gateway: { script: 'services/gateway/dist/main.js', portVariables: ['PORT'], announces: { listening: 'http' } },
    'terminal-worker': {
      script: 'services/terminal-worker/dist/main.js',
      portVariables: ['OPS_PORT'],
      announces: { listening: 'ops' },
    },
    'ai-worker': {
      script: 'services/ai-worker/dist/main.js',
      portVariables: ['OPS_PORT'],
      announces: { listening: 'ops' },
    },
    'message-worker': {
      script: 'services/message-worker/dist/main.js',
      portVariables: ['OPS_PORT', 'MESSAGE_API_PORT'],
      announces: { listening: 'ops', 'producer API listening': 'api' },
    },
  };

/** Start-up order; shutdown runs it backwards after nginx. */
const ROLE_ORDER: readonly ClusterRole[] = ['terminal-worker', 'ai-worker', 'message-worker', 'gateway'];

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /**
   * The environment: the launcher's settings (see `clusterSettings`) and every service
   * setting, passed on to the processes. Tests pass a minimal one.
   */
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Called with every line a process prints (the launcher's console shows warnings from here). */
  onProcessLine?: (process: ClusterProcessInfo, line: string) => void;
  /** Keep a state folder the launcher created after `stop()` (logs, Redis's AOF). Default: remove it. */
  keepState?: boolean;
}

/** One process as listed in cluster.json. */
export interface ClusterProcessInfo {
  /** Unique in the cluster: `gateway-1`, `terminal-worker-3`, `redis`, `nginx`… */
  name: string;
  role: ClusterRole | 'redis' | 'nginx' | 'anthropic-standin';
  pid: number;
  /** Its main port: a gateway's Socket.IO port, a worker's ops port, nginx's public port. */
  port: number;
  /**
   * Every port it listens on, by purpose: `http` (gateway, nginx, stand-in), `ops`
   * (/healthz, /readyz, /metrics of a worker), `api` (the message-worker's producer API), `redis`.
   */
  ports: Record<string, number>;
  /** Its stdout and stderr. */
  log: string;
  started_at: string;
  /** Set once it has exited. */
  exit?: ProcessExit;
}

/** The content of cluster.json. */
export interface ClusterState {
  url: string;
  launcher_pid: number;
  state_dir: string;
  redis_url: string;
  redis_prefix: string;
  started_at: string;
  processes: ClusterProcessInfo[];
}

/** A running process cluster. */
export interface Cluster {
  /** `http://HOST:PORT`, nginx. */
  readonly url: string;
  readonly port: number;
  readonly stateDir: string;
  /** cluster.json: every process with role, pid and port. */
  readonly stateFile: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  /** The HS256 secret the gateways verify tokens with. */
  readonly jwtSecret: string;
  /** The password of its Redis, generated for this run (`redisUrl` carries it too). */
  readonly redisPassword: string;
  /** Bearer tokens the message-worker's producer API accepts. */
  readonly messageApiTokens: string[];
  /** `ANTHROPIC_BASE_URL` given to the AI workers (the stand-in's unless one was configured). */
  readonly anthropicBaseUrl: string | undefined;
  /** Roles not started because their entry point is not built. */
  readonly skipped: readonly ClusterRole[];
  /** Every process started so far, exited ones included. */
  processes(): ClusterProcessInfo[];
  /** A token for `user`, as a host application would issue it. */
  signToken(user: string, ttlSeconds?: number): Promise<string>;
  /**
   * Starts one more process of `role` while the cluster runs and waits until it listens.
   * A new gateway is added to nginx's upstreams (nginx reloads).
   * @throws Error when its entry point is missing or it fails to start.
   */
  addProcess(role: ClusterRole, env?: Record<string, string>): Promise<ClusterProcessInfo>;
  /**
   * Sends `signal` to the running process called `name` (`redis`, `gateway-2`…): fault
   * injection (SIGKILL, SIGSTOP, SIGCONT). Resolves once it has exited when the signal
   * was SIGKILL, at once otherwise.
   * @throws Error when no running process has that name.
   */
  signal(name: string, signal: NodeJS.Signals): Promise<void>;
  /**
   * Starts Redis again on the same port with the same AOF folder, after it exited (was
   * killed); resolves when it accepts connections. Clients reconnect by themselves.
   * @throws Error while the previous Redis is still running, or when it fails to start.
   */
  restartRedis(): Promise<ClusterProcessInfo>;
  /** Stops everything it started, in order: nginx, gateways, workers, the stand-in, Redis. */
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when `GET url` answers 200, or rejects after `timeoutMs` with `what` in the message. */
async function waitForHttp(url: string, what: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request(url, { timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      // Not listening yet (ECONNREFUSED) or a slow answer: poll again.
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (ok) return;
    if (!alive()) throw new Error(`${what} exited while starting`);
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * The `redis-server` binary: the first on PATH, or Debian's.
 * @throws Error with the install command when there is none.
 */
function findRedisServer(pathVariable = ''): string {
  const dirs = [...pathVariable.split(':').filter((dir) => path.isAbsolute(dir)), '/usr/bin', '/usr/local/bin'];
  const found = dirs.map((dir) => path.join(dir, 'redis-server')).find((file) => existsSync(file));
  if (!found) throw new Error('redis-server is not installed. Install it with: sudo apt-get install -y redis-server');
  return found;
}

/** Writes `file` atomically (readers never see half a file). */
function writeJsonAtomically(file: string, value: unknown): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

/** Only defined values, as strings: the environment a child process gets. */
function definedEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * Starts the production topology as plain processes on this machine (no Docker): a
 * `redis-server` on a free port with AOF in the state folder, the gateways, the
 * terminal-, AI and message-workers (roles whose entry point is not built are skipped
 * with a warning), the Anthropic stand-in when no key or base URL is set, and Debian's
 * nginx with the same configuration as docker-compose in front of the gateways. Writes
 * cluster.json (role, pid and port of each process) into the state folder.
 * @throws ConfigError for a bad setting; Error when a process fails to start (everything
 * started so far is stopped first).
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { logger } = options;
  const config: ClusterConfig = loadClusterConfig(options.env);
  // Both programs before anything starts: a missing one is reported at once.
  const redisServer = findRedisServer(options.env.PATH);
  const nginx = findNginx(options.env.PATH);
  const createdStateDir = !config.CLUSTER_STATE_DIR;
  const stateDir = path.resolve(config.CLUSTER_STATE_DIR ?? mkdtempSync(path.join(tmpdir(), 'ctos-cluster-')));
  mkdirSync(stateDir, { recursive: true });
  chmodSync(stateDir, STATE_DIR_MODE);
  mkdirSync(path.join(stateDir, 'logs'), { recursive: true, mode: PRIVATE_DIR_MODE });
  mkdirSync(path.join(stateDir, 'redis'), { recursive: true, mode: PRIVATE_DIR_MODE });
  const stateFile = path.join(stateDir, 'cluster.json');
  const isolation = planClusterIsolation({ env: options.env, stateDir, logger });
  const webRoot = path.resolve(config.WEB_DIST_DIR ?? path.join(REPO_ROOT, 'web', 'dist'));
  if (!existsSync(path.join(webRoot, 'index.html'))) {
    logger.warn({ webRoot }, 'the web page is not built (run: npm run build); nginx will answer 404 for it');
  }

  const jwtSecret = config.AUTH_JWT_SECRET ?? randomBytes(32).toString('hex');
  const messageApiTokens = (config.MESSAGE_API_TOKENS ?? randomBytes(32).toString('hex'))
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  // Hex: it goes into a redis:// URL and a Redis configuration line as it is.
  const redisPassword = randomBytes(32).toString('hex');
  // A fresh folder each run: no secret of an earlier run lingers, and none outlives this one.
  const secretsDir = path.join(stateDir, 'secrets');
  const removeSecrets = (): void => rmSync(secretsDir, { recursive: true, force: true });
  removeSecrets();
  mkdirSync(secretsDir, { mode: PRIVATE_DIR_MODE });
  const writeSecret = (name: string, value: string): string => {
    const file = path.join(secretsDir, name);
    writeFileSync(file, value, { mode: PRIVATE_FILE_MODE });
    return file;
  };
  const secretFiles = {
    jwtSecret: writeSecret(SECRET_FILES.jwtSecret, jwtSecret),
    redisPassword: writeSecret(SECRET_FILES.redisPassword, redisPassword),
    messageApiTokens: writeSecret(SECRET_FILES.messageApiTokens, messageApiTokens.join(',')),
    anthropicApiKey: config.ANTHROPIC_API_KEY
      ? writeSecret(SECRET_FILES.anthropicApiKey, config.ANTHROPIC_API_KEY)
      : undefined,
  };
  const startedAt = new Date().toISOString();
  const managed: Array<{ process: ManagedProcess; info: ClusterProcessInfo }> = [];
  const counters = new Map<string, number>();
  let stopping = false;
  let nginxPrefix: NginxPrefix | undefined;
  /** With the password: for tests and cluster.json (0600), never for a process's environment. */
  let redisUrl = '';
  /** Without it: what the services get, with the password in `REDIS_PASSWORD_FILE`. */
  let serviceRedisUrl = '';
  let anthropicBaseUrl = config.ANTHROPIC_BASE_URL;
  let publicPort = config.PORT;
  const url = (): string => `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${publicPort}`;

  // Everything but the launcher's own settings and the secrets (given as files or as a
  // path to one) goes to every service.
  const baseEnv: Record<string, string> = definedEnv(options.env);
  for (const key of [...LAUNCHER_ONLY, ...SECRET_VARIABLES]) {
    delete baseEnv[key];
    delete baseEnv[`${key}${FILE_SUFFIX}`];
  }
  // The launcher finds ports in the services' info-level `listening` lines; quieter levels
  // would hide them. The console shows only warnings anyway; the log files have the rest.
  if (QUIETER_THAN_INFO.has(config.LOG_LEVEL)) {
    delete baseEnv[`LOG_LEVEL${FILE_SUFFIX}`];
    baseEnv.LOG_LEVEL = 'info';
  }

  const writeState = (): void => {
    const state: ClusterState = {
      url: url(),
      launcher_pid: process.pid,
      state_dir: stateDir,
      redis_url: redisUrl,
      redis_prefix: config.REDIS_PREFIX,
      started_at: startedAt,
      processes: managed.map((m) => m.info),
    };
    writeJsonAtomically(stateFile, state);
  };

  /** Last resort if the launcher dies without stop(): no orphans left behind. */
  const killAllNow = (): void => {
    for (const { process: p } of managed) p.killGroup();
    isolation.killNow();
    removeSecrets();
  };
  process.on('exit', killAllNow);

  const launch = (
    role: ClusterProcessInfo['role'],
    command: string,
    args: string[],
    env: Record<string, string>,
    stdin?: string,
  ): { process: ManagedProcess; info: ClusterProcessInfo } => {
    const n = (counters.get(role) ?? 0) + 1;
    counters.set(role, n);
    const name = role === 'redis' || role === 'nginx' || role === 'anthropic-standin' ? role : `${role}-${n}`;
    const logFile = path.join(stateDir, 'logs', `${name}.log`);
    const info: ClusterProcessInfo = { name, role, pid: 0, port: 0, ports: {}, log: logFile, started_at: '' };
    const child = new ManagedProcess({ name, role, command, args, env, cwd: REPO_ROOT, logFile, stdin }, (_p, line) =>
      options.onProcessLine?.(info, line),
    );
    info.pid = child.pid;
    info.started_at = new Date().toISOString();
    const entry = { process: child, info };
    managed.push(entry);
    void child.waitForExit().then((exit) => {
      info.exit = exit;
      if (!stopping) {
        logger.warn({ process: name, pid: child.pid, ...exit }, 'a cluster process exited');
        writeState();
      }
    });
    return entry;
  };

  const setPorts = (entry: { info: ClusterProcessInfo }, ports: Record<string, number>): void => {
    entry.info.ports = ports;
    entry.info.port = Object.values(ports)[0] ?? 0;
  };

  const startRole = async (role: ClusterRole, extra: Record<string, string> = {}): Promise<ClusterProcessInfo> => {
    const spec = ROLE_SPECS[role];
    const script = path.join(REPO_ROOT, spec.script);
    if (!existsSync(script)) throw new Error(`${role} is not built (no ${spec.script}); run: npm run build`);
    const env: Record<string, string> = { ...baseEnv };
    const set = (name: string, value: string): void => {
      // What the launcher sets replaces a file the operator named for the same setting.
      delete env[`${name}${FILE_SUFFIX}`];
      env[name] = value;
    };
    set('REDIS_URL', serviceRedisUrl);
    set('REDIS_PASSWORD_FILE', secretFiles.redisPassword);
    set('REDIS_PREFIX', config.REDIS_PREFIX);
    set('HOST', LOOPBACK);
    for (const name of spec.portVariables) set(name, '0');
    if (role === 'gateway') {
      set('AUTH_JWT_SECRET_FILE', secretFiles.jwtSecret);
      // Gateways sit behind the launcher's nginx, as in compose: limits key on the real client.
      if (env.GATEWAY_TRUST_PROXY === undefined && env[`GATEWAY_TRUST_PROXY${FILE_SUFFIX}`] === undefined) {
        env.GATEWAY_TRUST_PROXY = 'true';
      }
    }
    const isolationEnv = role === 'terminal-worker' ? isolation.workerEnv() : {};
    for (const [name, value] of Object.entries(isolationEnv)) set(name, value);
    if (role === 'message-worker') set('MESSAGE_API_TOKENS_FILE', secretFiles.messageApiTokens);
    if (role === 'ai-worker') {
      if (secretFiles.anthropicApiKey) set('ANTHROPIC_API_KEY_FILE', secretFiles.anthropicApiKey);
      if (anthropicBaseUrl) set('ANTHROPIC_BASE_URL', anthropicBaseUrl);
      // The stand-in accepts any key (this one is no secret); the SDK insists on having one.
      if (!secretFiles.anthropicApiKey && anthropicBaseUrl) set('ANTHROPIC_API_KEY', 'stand-in');
    }
    for (const [name, value] of Object.entries(extra)) set(name, value);
    const entry = launch(role, process.execPath, [script], env);
    if (role === 'terminal-worker') void entry.process.waitForExit().then(() => isolation.workerExited(isolationEnv));
    const messages = Object.keys(spec.announces);
    const ports = await entry.process.waitForPorts(messages);
    setPorts(entry, Object.fromEntries(messages.map((m, i) => [spec.announces[m]!, ports[i]!])));
    return entry.info;
  };

  const liveGateways = (): UpstreamAddress[] =>
    managed
      .filter((m) => m.info.role === 'gateway' && m.process.running && m.info.port > 0)
      .map((m) => ({ host: LOOPBACK, port: m.info.port }));

  const stopAll = async (): Promise<void> => {
    stopping = true;
    const stopRole = (role: ClusterProcessInfo['role']): Promise<unknown> =>
      Promise.all(managed.filter((m) => m.info.role === role).map((m) => m.process.stop()));
    await stopRole('nginx');
    await stopRole('gateway');
    await Promise.all([stopRole('terminal-worker'), stopRole('ai-worker'), stopRole('message-worker')]);
    // Before Redis stops: it lists the Unix accounts this run created. A temporary state
    // folder is never used again, so its accounts and homes go even when its logs are kept.
    await isolation.cleanup({ url: redisUrl, prefix: config.REDIS_PREFIX }, createdStateDir);
    await stopRole('anthropic-standin');
    await stopRole('redis');
    process.off('exit', killAllNow);
  };

  let redisPort = 0;
  /**
   * Starts `redis-server` on `redisPort` with AOF in the state folder, `appendfsync
   * everysec` as docker-compose ships it: every acknowledged write is in the kernel before
   * the reply, so a Redis process crash loses none; a host crash may lose the last second.
   * Its password reaches it on standard input (`-`: read configuration from stdin), never
   * on its command line, which every user of the machine can read.
   */
  const startRedis = async (): Promise<ClusterProcessInfo> => {
    const redis = launch(
      'redis',
      redisServer,
      [
        '-',
        '--port',
        String(redisPort),
        '--bind',
        LOOPBACK,
        '--dir',
        path.join(stateDir, 'redis'),
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
      ],
      { PATH: options.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' },
      `requirepass ${redisPassword}\n`,
    );
    await redis.process.waitForLine((l) => l.includes('Ready to accept connections'), 'it was ready');
    setPorts(redis, { redis: redisPort });
    return redis.info;
  };

  const skipped: ClusterRole[] = [];
  try {
    // Redis: AOF in the state folder, as the compose file persists it.
    redisPort = await freePort();
    serviceRedisUrl = `redis://${LOOPBACK}:${redisPort}`;
    redisUrl = withRedisPassword(serviceRedisUrl, redisPassword);
    await startRedis();

    // The Anthropic stand-in, unless a key or an endpoint was given.
    const aiWorkerBuilt = existsSync(path.join(REPO_ROOT, ROLE_SPECS['ai-worker'].script));
    if (!config.ANTHROPIC_API_KEY && !config.ANTHROPIC_BASE_URL && config.CLUSTER_AI_WORKERS > 0 && aiWorkerBuilt) {
      const cli = path.join(REPO_ROOT, 'testing', 'anthropic-standin', 'dist', 'main.js');
      if (existsSync(cli)) {
        const standin = launch('anthropic-standin', process.execPath, [cli], {
          PATH: baseEnv.PATH ?? '/usr/bin:/bin',
          PORT: '0',
          STANDIN_HOST: LOOPBACK,
        });
        const line = await standin.process.waitForLine((l) => l.startsWith('{"url":'), 'it printed its URL');
        anthropicBaseUrl = (JSON.parse(line) as { url: string }).url;
        setPorts(standin, { http: Number(new URL(anthropicBaseUrl).port) });
      } else {
        logger.warn({ cli }, 'the Anthropic stand-in is not built; AI workers get no endpoint');
      }
    }

    const wanted: Record<ClusterRole, number> = {
      'terminal-worker': config.CLUSTER_TERMINAL_WORKERS,
      'ai-worker': config.CLUSTER_AI_WORKERS,
      'message-worker': config.CLUSTER_MESSAGE_WORKERS,
      gateway: config.CLUSTER_GATEWAYS,
    };
    const starts: Array<Promise<ClusterProcessInfo>> = [];
    for (const role of ROLE_ORDER) {
      if (wanted[role] === 0) continue;
      if (!existsSync(path.join(REPO_ROOT, ROLE_SPECS[role].script))) {
        if (role === 'gateway')
          throw new Error(`the gateway is not built (no ${ROLE_SPECS[role].script}); run: npm run build`);
        logger.warn({ role, entry: ROLE_SPECS[role].script }, 'skipping a role whose entry point is not built');
        skipped.push(role);
        continue;
      }
      for (let i = 0; i < wanted[role]; i++) starts.push(startRole(role));
    }
    await Promise.all(starts);

    // nginx last: its upstreams are the gateways' real ports.
    if (publicPort === 0) publicPort = await freePort();
    nginxPrefix = writeNginxPrefix(path.join(stateDir, 'nginx'), {
      listen: { host: config.HOST, port: publicPort },
      gateways: liveGateways(),
      webRoot,
    });
    await checkNginxConfig(nginx, nginxPrefix);
    const proxy = launch('nginx', nginx, nginxArgs(nginxPrefix), { PATH: options.env.PATH ?? '/usr/bin:/bin' });
    const probeHost = config.HOST === '0.0.0.0' || config.HOST === '::' ? LOOPBACK : config.HOST;
    await waitForHttp(
      `http://${probeHost.includes(':') ? `[${probeHost}]` : probeHost}:${publicPort}/healthz`,
      'nginx',
      START_TIMEOUT_MS,
      () => proxy.process.running,
    );
    setPorts(proxy, { http: publicPort });
    writeState();
  } catch (error) {
    await stopAll();
    removeSecrets();
    if (createdStateDir && !options.keepState) rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }

  const key = new TextEncoder().encode(jwtSecret);
  let stopped: Promise<void> | undefined;

  return {
    url: url(),
    port: publicPort,
    stateDir,
    stateFile,
    redisUrl,
    redisPrefix: config.REDIS_PREFIX,
    jwtSecret,
    redisPassword,
    messageApiTokens,
    anthropicBaseUrl,
    skipped,
    processes: () => managed.map((m) => ({ ...m.info })),
    async signToken(user, ttlSeconds = config.CLUSTER_TOKEN_TTL_S) {
      let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt();
      jwt = jwt.setExpirationTime(`${ttlSeconds}s`);
      if (config.AUTH_JWT_ISSUER) jwt = jwt.setIssuer(config.AUTH_JWT_ISSUER);
      if (config.AUTH_JWT_AUDIENCE) jwt = jwt.setAudience(config.AUTH_JWT_AUDIENCE);
      return jwt.sign(key);
    },
    async addProcess(role, env = {}) {
      if (stopping) throw new Error('the cluster is stopping');
      const info = await startRole(role, env);
      if (role === 'gateway' && nginxPrefix) {
        writeUpstreams(nginxPrefix.dir, liveGateways());
        await checkNginxConfig(nginx, nginxPrefix);
        // SIGHUP: nginx re-reads its configuration and replaces its workers gracefully.
        managed.find((m) => m.info.role === 'nginx')?.process.signal('SIGHUP');
      }
      writeState();
      return { ...info };
    },
    async signal(name, signal) {
      const entry = managed.find((m) => m.info.name === name && m.process.running);
      if (!entry) throw new Error(`no running process is called ${name}`);
      entry.process.signal(signal);
      if (signal === 'SIGKILL') await entry.process.waitForExit();
    },
    async restartRedis() {
      if (stopping) throw new Error('the cluster is stopping');
      if (managed.some((m) => m.info.role === 'redis' && m.process.running)) {
        throw new Error('Redis is still running; kill it first');
      }
      const info = await startRedis();
      writeState();
      return { ...info };
    },
    stop() {
      stopped ??= (async () => {
        await stopAll();
        removeSecrets();
        if (createdStateDir && !options.keepState) rmSync(stateDir, { recursive: true, force: true });
        else writeState();
      })();
      return stopped;
    },
  };
}
