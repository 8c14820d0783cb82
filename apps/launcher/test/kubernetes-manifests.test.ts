import { loadGatewayConfig } from '@ctos/gateway';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '@ctos/runtime';
import { ISOLATION_CAPABILITIES } from '@ctos/terminal-worker';
import {
  type Container,
  type K8sObject,
  ofKind,
  OVERLAYS,
  probePort,
  render,
  schemaProblems,
  SERVICES,
  type Workload,
  workloads,
} from './kubernetes-support';

/** Secrets: never in an environment, only in files the services read (`X_FILE`), as in compose. */
const SECRETS = ['AUTH_JWT_SECRET', 'REDIS_PASSWORD', 'MESSAGE_API_TOKENS', 'ANTHROPIC_API_KEY'];
const SECRETS_MOUNT = '/run/secrets';
/** The Secret the operator creates (deploy/OPERATIONS.md, "Kubernetes"). */
const SECRET_NAME = 'ctos-secrets';
/** Capabilities Pod Security's `baseline` level allows a container to add. */
const BASELINE_CAPABILITIES = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
];

/** A container's environment: its ConfigMaps' data under its own `env`. */
function environment(objects: K8sObject[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const map = ofKind(objects, 'ConfigMap').find((m) => m.metadata.name === source.configMapRef?.name);
    Object.assign(env, map?.data ?? {});
  }
  for (const variable of container.env ?? []) if (variable.value !== undefined) env[variable.name] = variable.value;
  return env;
}

describe.each(OVERLAYS)('deploy/kubernetes/overlays/%s', (overlay) => {
  let objects: K8sObject[];
  let pods: Map<string, Workload>;
  beforeAll(async () => {
    objects = await render(overlay);
    pods = workloads(objects);
  });
  const service = (name: string): Workload => pods.get(name)!;
  const main = (name: string): Container => service(name).pod.containers[0]!;

  it('renders with kubectl kustomize, and every object validates against the Kubernetes API schemas', async () => {
    expect(objects.length).toBeGreaterThan(20);
    expect(await schemaProblems(objects)).toEqual([]);
  });

  it('runs every service, the web tier and an in-cluster Redis, all in one namespace', () => {
    expect([...pods.keys()].sort()).toEqual([...SERVICES, 'redis', 'web'].sort());
    const namespace = ofKind(objects, 'Namespace')[0]!.metadata.name;
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) {
      expect([object.kind, object.metadata.name, object.metadata.namespace]).toEqual([
        object.kind,
        object.metadata.name,
        namespace,
      ]);
    }
    // nginx re-resolves the gateways by their full name, which must name this namespace.
    const nginx = ofKind(objects, 'ConfigMap').find((m) => m.metadata.name.startsWith('web-nginx'))!;
    expect(nginx.data!['gateways.conf']).toMatch(
      new RegExp(
        `^server gateway\\.${namespace}\\.svc\\.cluster\\.local:${environment(objects, main('gateway')).PORT} resolve`,
        'm',
      ),
    );
    expect(nginx.data!['upstream-servers.conf']).toMatch(/^zone \S+ \d+k;$/m);
  });

  it('probes every service on /healthz (alive) and /readyz (ready), on the port it listens on', () => {
    for (const name of SERVICES) {
      const container = main(name);
      const env = environment(objects, container);
      const port = Number(name === 'gateway' ? env.PORT : env.OPS_PORT);
      expect([name, container.livenessProbe?.httpGet?.path, probePort(container, container.livenessProbe)]).toEqual([
        name,
        '/healthz',
        port,
      ]);
      expect([name, container.readinessProbe?.httpGet?.path, probePort(container, container.readinessProbe)]).toEqual([
        name,
        '/readyz',
        port,
      ]);
    }
    expect(main('web').readinessProbe?.httpGet?.path).toBe('/healthz');
    expect(main('redis').readinessProbe?.exec?.command.join(' ')).toContain('redis-cli ping');
  });

  it('gives each pod time to leave the endpoints and drain before it is killed', () => {
    const drainCapS = DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000;
    for (const [name, { pod }] of pods) {
      const preStop = pod.containers[0]!.lifecycle?.preStop?.sleep?.seconds ?? 0;
      if (name !== 'redis') expect([name, preStop > 0]).toEqual([name, true]);
      expect([name, pod.terminationGracePeriodSeconds! >= preStop + drainCapS]).toEqual([name, true]);
    }
    const aiGraceMs = Number(environment(objects, main('ai-worker')).AI_DRAIN_GRACE_MS);
    expect(aiGraceMs).toBeLessThan(DEFAULT_SHUTDOWN_TIMEOUT_MS);
    // The gateway's drain is capped at the same plus its window (its secret files are not read here).
    const gatewayEnv = Object.entries(environment(objects, main('gateway'))).filter(
      ([name]) => !name.endsWith('_FILE'),
    );
    const gateway = loadGatewayConfig(Object.fromEntries(gatewayEnv));
    const { pod } = pods.get('gateway')!;
    const gatewayPreStop = pod.containers[0]!.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(pod.terminationGracePeriodSeconds! * 1000).toBeGreaterThanOrEqual(
      gatewayPreStop * 1000 + DEFAULT_SHUTDOWN_TIMEOUT_MS + gateway.GATEWAY_DRAIN_WINDOW_MS,
    );
  });

  it('gives no container a secret in its environment, only files mounted from the Secret it names', () => {
    for (const [name, { pod }] of pods) {
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect([name, (container.envFrom ?? []).filter((source) => source.secretRef)]).toEqual([name, []]);
        expect([name, (container.env ?? []).filter((v) => v.valueFrom !== undefined)]).toEqual([name, []]);
        const env = environment(objects, container);
        expect([name, SECRETS.filter((secret) => secret in env)]).toEqual([name, []]);
        const mount = container.volumeMounts?.find((m) => m.mountPath === SECRETS_MOUNT);
        const volume = pod.volumes?.find((v) => v.name === mount?.name)?.secret;
        const mounted = (volume?.items ?? []).map((item) => item.path);
        const named = Object.entries(env)
          .filter(([variable]) => variable.endsWith('_FILE'))
          .map(([, file]) => file.slice(SECRETS_MOUNT.length + 1));
        // Every file a setting names is mounted from ctos-secrets, and nothing else is.
        if (named.length > 0) expect([name, volume?.secretName]).toEqual([name, SECRET_NAME]);
        expect([name, (volume?.items ?? []).every((item) => item.key === item.path)]).toEqual([name, true]);
        if (name !== 'redis') expect([name, mounted.sort()]).toEqual([name, named.sort()]);
      }
    }
    // Redis reads its password file in its command, onto its standard input: on no command line.
    const redis = main('redis');
    expect(redis.command!.join(' ')).toMatch(
      /redis-server [^\n]* - <<EOF\nrequirepass \$\(cat \/run\/secrets\/redis_password\)\nEOF/,
    );
    for (const name of [...SERVICES, 'redis']) {
      const secret = service(name).pod.volumes?.find((v) => v.secret)?.secret;
      expect([name, secret?.items?.map((item) => item.key)]).toEqual([
        name,
        expect.arrayContaining(['redis_password']),
      ]);
    }
  });

  it('runs every pod but the terminal-worker as non-root on a read-only root with no capability', () => {
    for (const [name, { pod }] of pods) {
      expect([name, pod.automountServiceAccountToken, pod.enableServiceLinks]).toEqual([name, false, false]);
      expect([name, pod.securityContext?.seccompProfile?.type]).toEqual([name, 'RuntimeDefault']);
      if (name === 'terminal-worker') continue;
      expect([name, pod.securityContext?.runAsNonRoot, (pod.securityContext?.runAsUser ?? 0) > 0]).toEqual([
        name,
        true,
        true,
      ]);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect([name, container.securityContext]).toEqual([
          name,
          expect.objectContaining({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          }),
        ]);
      }
    }
  });

  it("runs the terminal-worker as root with only isolation's four capabilities, within Pod Security baseline", () => {
    const { pod } = service('terminal-worker');
    const worker = pod.containers[0]!.securityContext!;
    const isolation = Object.keys(ISOLATION_CAPABILITIES).map((cap) => cap.replace(/^CAP_/, ''));
    expect(worker.runAsUser).toBe(0);
    expect(worker.capabilities?.drop).toEqual(['ALL']);
    expect([...(worker.capabilities?.add ?? [])].sort()).toEqual(isolation.sort());
    // no_new_privs: setuid programs in a user's shell gain nothing (compose: no-new-privileges).
    expect(worker.allowPrivilegeEscalation).toBe(false);
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      const added = container.securityContext?.capabilities?.add ?? [];
      expect(added.filter((cap) => !BASELINE_CAPABILITIES.includes(cap))).toEqual([]);
    }
    // No fsGroup (it would hand users' homes to a shared group); the secret is root's alone.
    expect(pod.securityContext?.fsGroup).toBeUndefined();
    expect(pod.volumes?.find((v) => v.secret)?.secret?.defaultMode).toBe(0o400);
    const home = pod.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
    expect(ofKind(objects, 'PersistentVolumeClaim').map((claim) => claim.metadata.name)).toContain(home);
    const namespace = ofKind(objects, 'Namespace')[0]!;
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('baseline');
  });

  it('sets resource requests and limits on every container', () => {
    for (const [name, { pod }] of pods) {
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const { requests = {}, limits = {} } = container.resources ?? {};
        expect([name, container.name, 'cpu' in requests, 'memory' in requests, 'memory' in limits]).toEqual([
          name,
          container.name,
          true,
          true,
          true,
        ]);
      }
    }
  });
});
