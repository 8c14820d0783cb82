import type { Disposable } from '@ctos/protocol';
import { SignJWT } from 'jose';
import { clusterUrl, writeClusterState, type ClusterRun } from './cluster-run';
import { startRole } from './cluster-start-services';
import { reloadNginx } from './cluster-start-nginx';
import { launchRedis } from './cluster-start-redis';
import { stopCluster } from './cluster-stop';
import type { Cluster } from './cluster-types';

/**
 * The {@link Cluster} a started run is driven through: its addresses and secrets, tokens,
 * processes added or signalled at run time, Redis restarted, and the one ordered `stop()`
 * (later calls return the same promise). `lastResort` is the run's exit hook
 * (`killEverythingOnExit`), disposed by the stop.
 */
export function clusterHandle(run: ClusterRun, lastResort: Disposable): Cluster {
  const { config, secrets, processes } = run;
  const key = new TextEncoder().encode(secrets.jwtSecret);
  let stopped: Promise<void> | undefined;
  const refuseWhileStopping = (): void => {
    if (processes.isStopping) throw new Error('the cluster is stopping');
  };

  return {
    url: clusterUrl(run),
    port: run.publicPort,
    stateDir: run.state.dir,
    stateFile: run.state.file,
    redisUrl: run.redisUrl,
    redisPrefix: config.REDIS_PREFIX,
    jwtSecret: secrets.jwtSecret,
    redisPassword: secrets.redisPassword,
    messageApiTokens: secrets.messageApiTokens,
    anthropicBaseUrl: run.anthropicBaseUrl,
    skipped: run.skipped,
    processes: () => processes.list().map((m) => ({ ...m.info })),
    async signToken(user, ttlSeconds = config.CLUSTER_TOKEN_TTL_S) {
      let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt();
      jwt = jwt.setExpirationTime(`${ttlSeconds}s`);
      if (config.AUTH_JWT_ISSUER) jwt = jwt.setIssuer(config.AUTH_JWT_ISSUER);
      if (config.AUTH_JWT_AUDIENCE) jwt = jwt.setAudience(config.AUTH_JWT_AUDIENCE);
      return jwt.sign(key);
    },
    async addProcess(role, env = {}) {
      refuseWhileStopping();
      const info = await startRole(run, role, env);
      if (role === 'gateway') await reloadNginx(run);
      writeClusterState(run);
      return { ...info };
    },
    async signal(name, signal) {
      const entry = processes.list().find((m) => m.info.name === name && m.process.running);
      if (!entry) throw new Error(`no running process is called ${name}`);
      entry.process.signal(signal);
      if (signal === 'SIGKILL') await entry.process.waitForExit();
    },
    async restartRedis() {
      refuseWhileStopping();
      if (processes.list().some((m) => m.info.role === 'redis' && m.process.running)) {
        throw new Error('Redis is still running; kill it first');
      }
      const info = await launchRedis(run);
      writeClusterState(run);
      return { ...info };
    },
    stop() {
      stopped ??= stopCluster(run, lastResort, true);
      return stopped;
    },
  };
}
