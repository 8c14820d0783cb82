import express, { type Express } from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * How long one readiness check may take (ms) before it counts as failing: a dependency
 * that hangs (a paused Redis answers nothing) must make /readyz say 503, not hang too.
 */
const CHECK_TIMEOUT_MS = 1000;

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
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS)));
        // A check that throws or hangs counts as not ready; its error is the dependency's, not ours.
        const ok = await Promise.race([Promise.resolve().then(check), late]).catch(() => false);
        clearTimeout(timer);
        return { name, ok };
      }),
    );
    const failing = results.filter((r) => !r.ok).map((r) => r.name);
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
