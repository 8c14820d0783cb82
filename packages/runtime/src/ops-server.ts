import express, { type Express } from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** A named readiness check: true when the process can do its work now. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

/** A Prometheus registry with the process's default metrics (CPU, memory, event loop lag). */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * The operational endpoints every process answers:
 * - `GET /healthz` — 200 `{status:"ok"}` while the process is alive;
 * - `GET /readyz` — 200 when every check passes, else 503 with the failing names;
 * - `GET /metrics` — Prometheus text format.
 */
export function createOpsApp(registry: Registry, checks: Record<string, ReadinessCheck>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const failing: string[] = [];
    for (const [name, check] of Object.entries(checks)) {
      // A check that throws counts as not ready; its error is the dependency's, not ours.
      const ok = await Promise.resolve()
        .then(check)
        .catch(() => false);
      if (!ok) failing.push(name);
    }
    res.status(failing.length === 0 ? 200 : 503).json({
      status: failing.length === 0 ? 'ready' : 'not_ready',
      failing,
    });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return app;
}
