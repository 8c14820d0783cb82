import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FILE_SUFFIX } from '@ctos/runtime';
import { withRedisPassword } from '@ctos/transport';
import { SignJWT } from 'jose';
import { loadClusterConfig, type ClusterConfig } from './cluster-config';
import { planClusterIsolation } from './cluster-isolation';
import {
  checkNginxConfig,
  findNginx,
  nginxArgs,
  writeNginxPrefix,
  writeUpstreams,
  type NginxPrefix,
  type UpstreamAddress,
} from './cluster-nginx';
import { ManagedProcess, START_TIMEOUT_MS } from './cluster-process';
import { findRedisServer, redisCommand } from './cluster-redis';
import { ROLE_ORDER, ROLE_SPECS, serviceBaseEnv } from './cluster-roles';
import { PRIVATE_DIR_MODE, STATE_DIR_MODE, writeClusterSecrets } from './cluster-secrets';
import type { Cluster, ClusterOptions, ClusterProcessInfo, ClusterRole, ClusterState } from './cluster-types';
import { freePort, LOOPBACK, waitForHttp, writeJsonAtomically } from './cluster-util';

export type { Cluster, ClusterOptions, ClusterProcessInfo, ClusterRole, ClusterState } from './cluster-types';

/** The repository root (this file is in apps/launcher/src or dist). */
const REPO_ROOT = path.resolve(__dirname, '../../..');

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
  const { files: secretFiles, remove: removeSecrets } = writeClusterSecrets(stateDir, {
    jwtSecret,
    redisPassword,
    messageApiTokens: messageApiTokens.join(','),
    anthropicApiKey: config.ANTHROPIC_API_KEY,
  });
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

  const baseEnv = serviceBaseEnv(options.env, config.LOG_LEVEL);

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
    const { args, stdin } = redisCommand({
      port: redisPort,
      dir: path.join(stateDir, 'redis'),
      password: redisPassword,
    });
    const redis = launch(
      'redis',
      redisServer,
      args,
      { PATH: options.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' },
      stdin,
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
