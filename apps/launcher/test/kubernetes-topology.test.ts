import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findNginx, writeNginxPrefix } from '../src/cluster-nginx';
import {
  KUBERNETES_DIR,
  type K8sObject,
  type LabelSelector,
  ofKind,
  OVERLAYS,
  render,
  ROOT,
  run,
  selects,
  SERVICES,
  type Workload,
  workloads,
} from './kubernetes-support';

interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
}
interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes: string[];
  ingress?: { from?: NetworkPolicyPeer[]; ports?: { port: string | number }[] }[];
}
interface HpaSpec {
  scaleTargetRef: { kind: string; name: string };
  minReplicas: number;
  metrics: { type: string; resource?: { name: string }; pods?: { metric: { name: string } } }[];
  behavior?: { scaleDown?: { selectPolicy?: string } };
}
interface HttpRouteSpec {
  parentRefs: { name: string }[];
  rules: {
    matches: { path: { type: string; value: string } }[];
    backendRefs: { name: string; port: number }[];
    timeouts?: { request?: string };
  }[];
}

/** Socket.IO's default ping interval (README, SOCKET_PING_INTERVAL_MS). */
const PING_INTERVAL_S = 25;

/** Seconds in a Gateway API duration (`1h30m`, `45s`, `0s`). */
function seconds(duration: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  return [...duration.matchAll(/(\d+)(ms|h|m|s)/g)].reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}

/**
 * Who may open a connection to the pods of `target`: the components (pod names) of this
 * deployment that some policy selecting them admits, and the namespace selectors it admits.
 */
function admitted(objects: K8sObject[], pods: Map<string, Workload>, target: string) {
  const policies = ofKind<NetworkPolicySpec>(objects, 'NetworkPolicy').filter(
    (p) => p.spec.ingress && selects(p.spec.podSelector, pods.get(target)!.labels),
  );
  const peers = policies.flatMap((p) => (p.spec.ingress ?? []).flatMap((rule) => rule.from ?? []));
  const fromPods = [...pods].filter(([, w]) =>
    peers.some((peer) => peer.podSelector && selects(peer.podSelector, w.labels)),
  );
  const namespaces = peers.filter((peer) => peer.namespaceSelector).map((peer) => peer.namespaceSelector!.matchLabels);
  return { policies: policies.length, pods: fromPods.map(([name]) => name).sort(), namespaces };
}

describe.each(OVERLAYS)('deploy/kubernetes/overlays/%s: topology', (overlay) => {
  let objects: K8sObject[];
  let pods: Map<string, Workload>;
  beforeAll(async () => {
    objects = await render(overlay);
    pods = workloads(objects);
  });

  it(
    overlay === 'dev' ? 'runs one replica of each' : 'runs gateways ×3 and at least two of everything else but Redis',
    () => {
      const replicas = Object.fromEntries([...pods].map(([name, w]) => [name, w.replicas]));
      if (overlay === 'dev') {
        expect(Object.values(replicas)).toEqual(Object.values(replicas).map(() => 1));
        return;
      }
      expect(replicas.gateway).toBe(3);
      for (const name of ['terminal-worker', 'ai-worker', 'message-worker', 'web']) {
        expect([name, replicas[name]! >= 2]).toEqual([name, true]);
      }
      expect(replicas.redis).toBe(1);
    },
  );

  it('lets nothing in by default, only gateways and workers reach Redis, and only the web tier reaches gateways', () => {
    const denyAll = ofKind<NetworkPolicySpec>(objects, 'NetworkPolicy').find(
      (p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.policyTypes.includes('Ingress') && !p.spec.ingress,
    );
    expect(denyAll).toBeDefined();
    expect(admitted(objects, pods, 'redis')).toEqual({ policies: 1, pods: [...SERVICES].sort(), namespaces: [] });
    // Gateways: Socket.IO from the web tier; Prometheus (another namespace) scrapes /metrics.
    expect(admitted(objects, pods, 'gateway')).toEqual({
      policies: 1,
      pods: ['web'],
      namespaces: [{ 'ctos-realtime/scrape': 'true' }],
    });
    // The web tier: from the edge only (the Gateway's proxies), never from a pod of ours.
    expect(admitted(objects, pods, 'web')).toEqual({
      policies: 1,
      pods: [],
      namespaces: [{ 'ctos-realtime/edge': 'true' }],
    });
    // A shell in a terminal-worker reaches no other pod of ours but Redis (password-protected).
    for (const name of ['gateway', 'ai-worker', 'message-worker', 'terminal-worker', 'web']) {
      expect([name, admitted(objects, pods, name).pods.includes('terminal-worker')]).toEqual([name, false]);
    }
  });

  it('routes the Gateway to the web tier with no request timeout on /socket.io/ (WebSockets, long-polls)', () => {
    const routes = ofKind<HttpRouteSpec>(objects, 'HTTPRoute');
    expect(routes).toHaveLength(1);
    const gateways = ofKind(objects, 'Gateway').map((g) => g.metadata.name);
    expect(routes[0]!.spec.parentRefs.map((ref) => ref.name)).toEqual(gateways);
    const socketIo = routes[0]!.spec.rules.find((rule) => rule.matches.some((m) => m.path.value === '/socket.io/'))!;
    const timeout = socketIo.timeouts?.request;
    // "0s" turns the timeout off (Gateway API); any other value must be far above the heartbeat.
    expect(timeout === '0s' || seconds(timeout ?? '15s') > 10 * PING_INTERVAL_S).toBe(true);
    for (const rule of routes[0]!.spec.rules) {
      expect(rule.backendRefs).toEqual([{ name: 'web', port: 8080 }]);
    }
  });

  if (overlay !== 'prod') return;

  it('keeps two gateways of three through voluntary disruptions, and terminal-workers go one at a time', () => {
    const budgets = ofKind<{ selector: LabelSelector; minAvailable?: number; maxUnavailable?: number }>(
      objects,
      'PodDisruptionBudget',
    );
    const budgetOf = (name: string) => budgets.filter((b) => selects(b.spec.selector, pods.get(name)!.labels));
    expect(budgetOf('gateway')).toHaveLength(1);
    expect(budgetOf('gateway')[0]!.spec.minAvailable).toBe(pods.get('gateway')!.replicas - 1);
    expect(budgetOf('terminal-worker')[0]!.spec.maxUnavailable).toBe(1);
    // Redis is one pod: a budget would block every node drain.
    expect(budgetOf('redis')).toEqual([]);
  });

  it('autoscales gateways on CPU and terminal-workers on live sessions, never down by itself', () => {
    const hpas = ofKind<HpaSpec>(objects, 'HorizontalPodAutoscaler');
    const hpaOf = (name: string) => hpas.find((h) => h.spec.scaleTargetRef.name === name)!.spec;
    const gateway = hpaOf('gateway');
    expect(gateway.metrics).toEqual([
      expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) }),
    ]);
    expect(gateway.minReplicas).toBe(pods.get('gateway')!.replicas);
    const worker = hpaOf('terminal-worker');
    expect(worker.metrics.map((m) => m.pods?.metric.name)).toEqual(['ctos_terminal_sessions']);
    expect(worker.behavior?.scaleDown?.selectPolicy).toBe('Disabled');
    // The metric is the worker's own gauge.
    const metrics = readFileSync(path.join(ROOT, 'services/terminal-worker/src/metrics.ts'), 'utf8');
    expect(metrics).toContain("name: 'ctos_terminal_sessions'");
    // CPU utilization needs a CPU request on the gateway.
    expect(pods.get('gateway')!.pod.containers[0]!.resources?.requests?.cpu).toBeDefined();
  });

  it('spreads gateways and terminal-workers over nodes', () => {
    for (const name of ['gateway', 'terminal-worker']) {
      const terms =
        pods.get(name)!.pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      expect([name, JSON.stringify(terms)]).toEqual([
        name,
        expect.stringContaining(`"app.kubernetes.io/name":"${name}"`),
      ]);
      expect([name, JSON.stringify(terms)]).toEqual([name, expect.stringContaining('kubernetes.io/hostname')]);
    }
  });
});

describe('the web tier nginx files for Kubernetes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ctos-k8s-nginx-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("accept listen.conf (real client address from the Gateway's X-Forwarded-For) in nginx -t", async () => {
    const prefix = writeNginxPrefix(dir, {
      listen: { host: '127.0.0.1', port: 18089 },
      gateways: [{ host: '127.0.0.1', port: 18090 }],
      webRoot: path.join(ROOT, 'web', 'dist'),
    });
    copyFileSync(path.join(KUBERNETES_DIR, 'base', 'web', 'listen.conf'), path.join(prefix.dir, 'conf', 'listen.conf'));
    const args = ['-t', '-p', prefix.dir, '-c', 'conf/nginx.conf', '-e', 'logs/error.log'];
    expect((await run(findNginx(process.env.PATH), args)).stderr).toContain('test is successful');
  });

  it('re-resolve the gateways through the cluster DNS, with a zone', () => {
    const upstreams = readFileSync(path.join(KUBERNETES_DIR, 'base', 'web', 'upstream-servers.conf'), 'utf8');
    expect(upstreams).toMatch(/^resolver kube-dns\.kube-system\.svc\.cluster\.local valid=\d+s/m);
    expect(upstreams).toMatch(/^zone ctos_gateways \d+k;$/m);
    expect(upstreams).toMatch(/^include gateways\.conf;$/m);
    const servers = readFileSync(path.join(KUBERNETES_DIR, 'base', 'web', 'gateways.conf'), 'utf8');
    expect(servers).toMatch(/^server gateway\.\S+:8089 resolve\b/m);
  });
});
