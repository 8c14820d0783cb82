import type { Disposable } from '@ctos/protocol';
import { SignJWT } from 'jose';
import { addGateway } from './cluster-add-gateway';
import { clusterUrl, runRedisTarget, writeClusterState, type ClusterRun } from './cluster-run';
import { startRole } from './cluster-start-services';
import { launchRedis } from './cluster-start-redis';
import { stopCluster } from './cluster-stop';
import type { Cluster, ClusterProcessInfo } from './cluster-types';

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
  // Gateways are added one at a time: each reload must see the one before it done. Each
  // add refuses by itself once the cluster is stopping, when its turn comes.
  let gatewayAdds: Promise<unknown> = Promise.resolve();
  const addGatewayInTurn = (extra: Record<string, string> = {}): Promise<ClusterProcessInfo> => {
    const added = gatewayAdds.then(() => addGateway(run, extra));
    // A failed add is its caller's to handle; the next one starts all the same.
    gatewayAdds = added.catch(() => undefined);
    return added;
  };

  return {
    url: clusterUrl(run),
    port: run.publicPort,
    stateDir: run.state.dir,
    stateFile: run.state.file,
    redisUrl: run.redisUrl,
    redisTarget: runRedisTarget(run),
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
      if (role === 'gateway') return addGatewayInTurn(env);
      refuseWhileStopping();
      const info = await startRole(run, role, env);
      writeClusterState(run);
      return { ...info };
    },
    addGateway: () => addGatewayInTurn(),
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
