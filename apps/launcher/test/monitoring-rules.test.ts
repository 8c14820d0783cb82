import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { createLogger } from '@ctos/runtime';
import { isolatedUids } from '@ctos/testkit';
import { parse as parseYaml } from 'yaml';
import { startCluster, type Cluster } from '../src/cluster';
import { httpGet, opsPort } from './faults-support';
import { ROOT, schemaProblems } from './kubernetes-support';

const MONITORING = path.join(ROOT, 'deploy', 'monitoring');
const RULES_FILE = path.join(MONITORING, 'ctos-realtime.rules.yml');
const DASHBOARD_FILE = path.join(MONITORING, 'ctos-realtime.dashboard.json');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string }[];
}

/** Keys Prometheus's rule-file format allows (it refuses others), for a group and a rule. */
const GROUP_KEYS = ['name', 'interval', 'limit', 'query_offset', 'labels', 'rules'];
const RULE_KEYS = ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'];

const rules = parseYaml(readFileSync(RULES_FILE, 'utf8')) as RuleFile;
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; title: string; panels: Panel[] };
const dashboardQueries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));

/** Grafana's interval macros replaced by a duration PromQL accepts. */
function withoutMacros(expr: string): string {
  return expr.replace(/\$__\w+/g, '5m');
}

/** The metric names a PromQL expression selects, and the `service` label values it matches. */
function selected(expr: string): { metrics: string[]; services: string[]; errors: string[] } {
  const metrics: string[] = [];
  const services: string[] = [];
  const errors: string[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    const text = expr.slice(cursor.from, cursor.to);
    if (cursor.type.isError) errors.push(`at ${cursor.from}: ${text || '(end)'}`);
    if (cursor.name === 'Identifier' && cursor.node.parent?.name === 'VectorSelector') metrics.push(text);
    if (cursor.name === 'UnquotedLabelMatcher' && /^service\s*=\s*"/.test(text)) services.push(text.split('"')[1]!);
  } while (cursor.next());
  return { metrics, services, errors };
}

/** The series names an exposition declares (`# TYPE`), with a histogram's or summary's parts. */
function declaredNames(exposition: string): string[] {
  return [...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => {
    if (type === 'histogram') return [name!, `${name}_bucket`, `${name}_sum`, `${name}_count`];
    if (type === 'summary') return [name!, `${name}_sum`, `${name}_count`];
    return [name!];
  });
}

describe('deploy/monitoring/ctos-realtime.rules.yml', () => {
  const all = rules.groups.flatMap((group) => group.rules);

  it('follows the Prometheus rule-file schema (as the Prometheus Operator’s PrometheusRule keeps it)', async () => {
    const wrapped = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'ctos-realtime' },
      spec: rules,
    };
    expect(await schemaProblems([wrapped])).toEqual([]);
    for (const group of rules.groups) {
      expect([group.name, Object.keys(group).filter((key) => !GROUP_KEYS.includes(key))]).toEqual([group.name, []]);
      for (const rule of group.rules) {
        expect([rule.alert, Object.keys(rule).filter((key) => !RULE_KEYS.includes(key))]).toEqual([rule.alert, []]);
      }
    }
    expect(new Set(rules.groups.map((g) => g.name)).size).toBe(rules.groups.length);
  });

  it('has expressions that parse as PromQL, and every alert a severity, a summary and a description', () => {
    expect(all.length).toBeGreaterThan(10);
    for (const rule of all) {
      expect([rule.alert, selected(rule.expr).errors]).toEqual([rule.alert, []]);
      expect([rule.alert, ['critical', 'warning', 'info'].includes(rule.labels?.severity ?? '')]).toEqual([
        rule.alert,
        true,
      ]);
      expect([rule.alert, Boolean(rule.annotations?.summary && rule.annotations.description)]).toEqual([
        rule.alert,
        true,
      ]);
    }
    expect(new Set(all.map((rule) => rule.alert)).size).toBe(all.length);
  });

  it('alerts on the conditions deploy/OPERATIONS.md names', () => {
    const text = (metric: string) => all.filter((rule) => rule.expr.includes(metric)).map((rule) => rule.alert);
    // No live worker of each kind (and no gateway).
    for (const kind of ['gateway', 'terminal-worker', 'ai-worker', 'message-worker']) {
      const alerts = all.filter((r) => r.expr.startsWith('absent(') && selected(r.expr).services.includes(kind));
      expect([kind, alerts.length]).toEqual([kind, 1]);
    }
    expect(text('ctos_redis_up').length).toBeGreaterThanOrEqual(2);
    expect(text('nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
    for (const errors of ['ctos_gateway_events_total', 'ctos_process_faults_total', 'ctos_ai_reply_failures_total']) {
      expect([errors, text(errors).length]).toEqual([errors, 1]);
    }
  });
});

describe('deploy/monitoring/ctos-realtime.dashboard.json', () => {
  it('is a Grafana dashboard whose panels each have a place and queries that parse as PromQL', () => {
    expect(dashboard.uid).toBe('ctos-realtime');
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect([panel.title, panel.gridPos?.w]).toEqual([panel.title, expect.any(Number)]);
      if (panel.type === 'row') continue;
      expect([panel.title, (panel.targets ?? []).length > 0]).toEqual([panel.title, true]);
    }
    for (const expr of dashboardQueries) expect([expr, selected(withoutMacros(expr)).errors]).toEqual([expr, []]);
  });
});

describe('metrics the rules and the dashboard use', () => {
  let cluster: Cluster;
  /** Series names each running service declares in its /metrics, by its `service` label. */
  const declared = new Map<string, Set<string>>();

  beforeAll(async () => {
    cluster = await startCluster({
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', LOG_LEVEL: 'warn', ...isolatedUids().env },
      logger: createLogger({ service: 'monitoring-test', level: 'silent' }),
    });
    for (const info of cluster.processes()) {
      if (!['gateway', 'terminal-worker', 'ai-worker', 'message-worker'].includes(info.role)) continue;
      const { body: exposition } = await httpGet(opsPort(info), '/metrics');
      const names = declared.get(info.role) ?? new Set<string>();
      for (const name of declaredNames(exposition)) names.add(name);
      // Every series carries the service label, which the rules select on.
      expect([info.name, exposition]).toEqual([info.name, expect.stringContaining(`service="${info.role}"`)]);
      declared.set(info.role, names);
    }
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('exist in /metrics of a running cluster (declared even before a labelled series has samples)', () => {
    expect(cluster.skipped).toEqual([]);
    expect([...declared.keys()].sort()).toEqual(['ai-worker', 'gateway', 'message-worker', 'terminal-worker']);
    const everywhere = new Set([...declared.values()].flatMap((names) => [...names]));
    const queries = [
      ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboardQueries.map(withoutMacros),
    ];
    const used = new Set(queries.flatMap((expr) => selected(expr).metrics));
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !everywhere.has(name))).toEqual([]);
    // A `service` matcher names a service that runs, and one that exports the metric it selects.
    for (const expr of queries) {
      const { metrics, services } = selected(expr);
      for (const service of services) {
        expect([expr, service, metrics.some((m) => declared.get(service)?.has(m))]).toEqual([expr, service, true]);
      }
    }
  });
});
