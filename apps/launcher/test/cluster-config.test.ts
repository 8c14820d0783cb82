import { ConfigError } from '@ctos/runtime';
import { loadClusterConfig } from '../src/cluster-config';

describe("the cluster launcher's settings", () => {
  it('default to the topology of docker-compose on port 8089 of loopback', () => {
    const config = loadClusterConfig({});
    expect(config).toMatchObject({
      PORT: 8089,
      HOST: '127.0.0.1',
      CLUSTER_GATEWAYS: 2,
      CLUSTER_TERMINAL_WORKERS: 2,
      CLUSTER_AI_WORKERS: 1,
      CLUSTER_MESSAGE_WORKERS: 1,
      REDIS_PREFIX: 'ctos',
    });
    expect(config.AUTH_JWT_SECRET).toBeUndefined();
  });

  it('refuses bad values all at once, naming each', () => {
    let error: unknown;
    try {
      loadClusterConfig({ PORT: 'eighty', AUTH_JWT_SECRET: 'short', CLUSTER_GATEWAYS: '0' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/PORT/);
    expect(problems).toMatch(/AUTH_JWT_SECRET: must be at least 32 characters/);
    expect(problems).toMatch(/CLUSTER_GATEWAYS/);
  });
});
