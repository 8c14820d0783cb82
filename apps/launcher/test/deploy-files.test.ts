import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { aiWorkerSettings } from '@ctos/ai-worker';
import { gatewaySettings } from '@ctos/gateway';
import { messageWorkerSettings } from '@ctos/message-worker';
import { ISOLATION_CAPABILITIES, terminalWorkerSettings } from '@ctos/terminal-worker';
import Ajv2019 from 'ajv/dist/2019';
import { parse as parseYaml } from 'yaml';
import { checkNginxConfig, findNginx, writeNginxPrefix } from '../src/cluster-nginx';
import { CONTENT_SECURITY_POLICY } from '../src/static-web';

const ROOT = path.resolve(__dirname, '../../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const ENV_EXAMPLE = path.join(ROOT, '.env.example');
const NGINX_CONF = path.join(ROOT, 'deploy', 'nginx', 'nginx.conf');
const OPERATIONS = path.join(ROOT, 'deploy', 'OPERATIONS.md');

/**
 * The Compose specification's JSON schema, as Debian's docker-compose package ships it
 * (compose-spec/compose-spec `schema/compose-spec.json`, Apache-2.0). That package is a
 * test prerequisite anyway (`docker-compose config`, below; scripts/ensure.mjs installs it).
 */
const COMPOSE_SPEC_SCHEMA = '/usr/lib/python3/dist-packages/compose/config/compose_spec.json';
const DOCKER_COMPOSE = '/usr/bin/docker-compose';

/** Secrets: never in .env or a compose environment, only in files the services read (`X_FILE`). */
const SECRETS = ['AUTH_JWT_SECRET', 'REDIS_PASSWORD', 'MESSAGE_API_TOKENS', 'ANTHROPIC_API_KEY'];

/** Names that say they hold a secret; `AI_MAX_TOKENS` (a reply's length) does not. */
const SECRET_NAME = /SECRET|PASSWORD|TOKEN|KEY/;
const NOT_SECRET = new Set(['AI_MAX_TOKENS']);

/** Whether `text` interpolates (`${NAME…}` or `$NAME`) a variable whose name says it is a secret. */
function interpolatesSecret(text: string): boolean {
  return [...text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].some(
    ([, name]) => SECRET_NAME.test(name!) && !NOT_SECRET.has(name!),
  );
}

/** Where compose mounts a service's secrets. */
const SECRETS_MOUNT = '/run/secrets/';

/** Each compose service built from this repository, and the settings object of what it runs. */
const SERVICE_SETTINGS: Record<string, Record<string, unknown>> = {
  gateway: gatewaySettings,
  'terminal-worker': terminalWorkerSettings,
  'ai-worker': aiWorkerSettings,
  'message-worker': messageWorkerSettings,
};

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  group_add?: string[];
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  pids_limit?: number | string;
  mem_limit?: number | string;
  restart?: string;
  healthcheck?: unknown;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  deploy?: { replicas?: number };
}

const compose = parseYaml(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string }>;
};
const envExample = readFileSync(ENV_EXAMPLE, 'utf8');

/** Variable names in .env.example, set (`NAME=`) or mentioned in a comment (`# NAME=`). */
function envExampleNames(): Set<string> {
  return new Set([...envExample.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
}

/** The schema with its draft-04 leftovers (`id`, a `$schema` URI ajv does not know) removed. */
function loadComposeSchema(): object {
  const strip = (node: unknown, isNameMap: boolean): unknown => {
    if (Array.isArray(node)) return node.map((item) => strip(item, false));
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      // Inside `properties`/`definitions` a key is a name, not a keyword: keep it.
      if (!isNameMap && (key === 'id' || key === '$schema') && typeof value === 'string') continue;
      out[key] = strip(value, key === 'properties' || key === 'patternProperties' || key === 'definitions');
    }
    return out;
  };
  return strip(JSON.parse(readFileSync(COMPOSE_SPEC_SCHEMA, 'utf8')), false) as object;
}

/** Runs docker-compose 1.29 on the compose file with `.env.example` and `env` on top. */
async function composeConfig(env: Record<string, string>): Promise<{ ok: boolean; stderr: string }> {
  try {
    await promisify(execFile)(
      DOCKER_COMPOSE,
      ['-f', COMPOSE_FILE, '--project-directory', ROOT, '--env-file', ENV_EXAMPLE, 'config', '-q'],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } },
    );
    return { ok: true, stderr: '' };
  } catch (error) {
    return { ok: false, stderr: (error as { stderr?: string }).stderr ?? String(error) };
  }
}

/** The instructions of a Dockerfile's last stage (what runs). */
function finalStage(dockerfile: string): string {
  const stages = dockerfile.split(/^FROM\s/m);
  return stages[stages.length - 1]!;
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification JSON schema', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(loadComposeSchema());
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('is accepted by docker-compose with .env.example as it is (the secrets are files)', async () => {
    const result = await composeConfig({});
    expect(result.stderr).toBe('');
    expect(result.ok).toBe(true);
  });

  it('runs redis, two gateways, the three workers and nginx, restarting them unless stopped', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['ai-worker', 'gateway', 'message-worker', 'nginx', 'redis', 'terminal-worker'].sort(),
    );
    expect(compose.services.gateway!.deploy?.replicas).toBe(2);
    for (const [name, service] of Object.entries(compose.services)) {
      expect([name, service.restart]).toEqual([name, 'unless-stopped']);
    }
  });

  it('starts each service only after what it needs is healthy', () => {
    expect(compose.services.redis!.healthcheck).toBeDefined();
    for (const name of ['gateway', 'terminal-worker', 'ai-worker', 'message-worker']) {
      expect([name, compose.services[name]!.depends_on]).toEqual([name, { redis: { condition: 'service_healthy' } }]);
    }
    expect(compose.services.nginx!.depends_on).toEqual({ gateway: { condition: 'service_healthy' } });
  });

  it('publishes only nginx, and no terminal-worker port, so terminal-workers scale with --scale', () => {
    const published = Object.entries(compose.services).filter(([, s]) => s.ports !== undefined);
    expect(published.map(([name]) => name)).toEqual(['nginx']);
    expect(compose.services.nginx!.ports).toEqual(['${BIND_ADDRESS:-0.0.0.0}:${PORT:-8089}:8080']);
  });

  it('confines the terminal-worker: only the capabilities isolation needs, no privilege gain, a pids limit and a memory limit', () => {
    const worker = compose.services['terminal-worker']!;
    expect(worker.cap_drop).toEqual(['ALL']);
    expect([...(worker.cap_add ?? [])].sort()).toEqual(
      Object.keys(ISOLATION_CAPABILITIES)
        .map((name) => name.replace(/^CAP_/, ''))
        .sort(),
    );
    expect(worker.security_opt).toContain('no-new-privileges:true');
    expect(worker.pids_limit).toBeDefined();
    expect(worker.mem_limit).toBeDefined();
  });

  it('builds every image from a Dockerfile and context that exist, and copies only files that exist', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === 'redis') continue;
      expect([name, service.build]).toEqual([name, expect.objectContaining({ context: '.' })]);
      const context = path.join(ROOT, service.build!.context);
      const dockerfile = path.join(context, service.build!.dockerfile);
      expect([name, existsSync(dockerfile)]).toEqual([name, true]);
      // Every COPY from the build context (not from another stage) names existing files.
      for (const match of readFileSync(dockerfile, 'utf8').matchAll(/^COPY\s+(?!--from)(.+)$/gm)) {
        const sources = match[1]!.trim().split(/\s+/).slice(0, -1);
        for (const source of sources) {
          if (source === '.') continue;
          expect([name, source, existsSync(path.join(context, source))]).toEqual([name, source, true]);
        }
      }
    }
  });

  it('gives each service every variable it reads (or the file of it), and .env.example lists them all', () => {
    const listed = envExampleNames();
    for (const [name, settings] of Object.entries(SERVICE_SETTINGS)) {
      const environment = compose.services[name]!.environment ?? {};
      for (const variable of Object.keys(settings)) {
        const given = [variable, `${variable}_FILE`];
        expect([name, variable, given.some((v) => v in environment)]).toEqual([name, variable, true]);
        expect([name, variable, given.some((v) => listed.has(v))]).toEqual([name, variable, true]);
      }
    }
  });

  it('gives no service a secret in its environment, only the path of a file holding it', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        expect([name, variable, SECRETS.includes(variable)]).toEqual([name, variable, false]);
        expect([name, variable, interpolatesSecret(String(value))]).toEqual([name, variable, false]);
      }
      const redisUrl = service.environment?.REDIS_URL;
      if (redisUrl !== undefined) expect([name, redisUrl]).toEqual([name, 'redis://redis:6379']);
    }
    for (const secret of SECRETS) {
      const readers = Object.entries(compose.services).filter(([, s]) => s.environment?.[`${secret}_FILE`]);
      expect([secret, readers.length > 0]).toEqual([secret, true]);
    }
  });

  it('points every *_FILE at a secret that is declared, read from ./secrets, and mounted in that service', () => {
    const declared = compose.secrets ?? {};
    for (const [name, secret] of Object.entries(declared)) {
      expect([name, secret.file]).toEqual([name, `./secrets/${name}`]);
    }
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (!variable.endsWith('_FILE')) continue;
        const secret = String(value).startsWith(SECRETS_MOUNT) ? String(value).slice(SECRETS_MOUNT.length) : '';
        expect([name, variable, secret in declared, service.secrets?.includes(secret)]).toEqual([
          name,
          variable,
          true,
          true,
        ]);
      }
      // A service mounts only the secrets it names in a setting (Redis reads its own in its command).
      const named = Object.values(service.environment ?? {}).map(String);
      for (const secret of service.secrets ?? []) {
        if (name === 'redis') continue;
        expect([name, secret, named.includes(`${SECRETS_MOUNT}${secret}`)]).toEqual([name, secret, true]);
      }
    }
    expect(readFileSync(path.join(ROOT, '.gitignore'), 'utf8')).toMatch(/^\/?secrets\/$/m);
  });

  it("keeps Redis's password off its command line and out of its environment and health check", () => {
    const redis = compose.services.redis!;
    const text = JSON.stringify({ command: redis.command, healthcheck: redis.healthcheck, env: redis.environment });
    expect(interpolatesSecret(text)).toBe(false);
    expect(text).not.toContain('--requirepass');
    expect(redis.environment).toBeUndefined();
    expect(redis.secrets).toEqual(['redis_password']);
    // The password reaches redis-server on its standard input: `-` is its last argument.
    const script = redis.command!.join(' ');
    expect(script).toMatch(/redis-server [^\n]* - <<EOF\nrequirepass \$\$\(cat \/run\/secrets\/redis_password\)\nEOF/);
    expect(JSON.stringify(redis.healthcheck)).toContain('REDISCLI_AUTH=\\"$$(cat /run/secrets/redis_password)\\"');
  });

  it('interpolates only variables that .env.example lists', () => {
    const listed = envExampleNames();
    const used = new Set([...readFileSync(COMPOSE_FILE, 'utf8').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    for (const variable of used) expect([variable, listed.has(variable)]).toEqual([variable, true]);
  });
});

describe('.env.example', () => {
  it('has no variable for a secret: secrets are files in ./secrets', () => {
    for (const secret of SECRETS) {
      expect([secret, new RegExp(`^${secret}=`, 'm').test(envExample)]).toEqual([secret, false]);
    }
    for (const file of Object.keys(compose.secrets ?? {})) {
      expect([file, envExample.includes(`secrets/${file}`)]).toEqual([file, true]);
    }
  });
});

describe('Dockerfiles', () => {
  const dockerfiles = Object.entries(compose.services)
    .filter(([, service]) => service.build)
    .map(([name, service]) => ({
      name,
      text: readFileSync(path.join(ROOT, service.build!.context, service.build!.dockerfile), 'utf8'),
    }));

  it('are multi-stage and run as a user other than root, but for the terminal-worker, which changes uid for its users', () => {
    for (const { name, text } of dockerfiles) {
      expect([name, (text.match(/^FROM\s/gm) ?? []).length >= 2]).toEqual([name, true]);
      const user = finalStage(text).match(/^USER\s+(\S+)/m)?.[1];
      const root = user === 'root' || user === '0';
      expect([name, user !== undefined && root === (name === 'terminal-worker')]).toEqual([name, true]);
    }
  });

  it('check /healthz in a HEALTHCHECK', () => {
    for (const { name, text } of dockerfiles) {
      const healthcheck = finalStage(text).match(/^HEALTHCHECK(?:.*\\\n)*.*$/m)?.[0] ?? '';
      const checksHealthz = healthcheck.includes('/healthz') || healthcheck.includes('healthcheck.cjs');
      expect([name, checksHealthz]).toEqual([name, true]);
    }
    expect(readFileSync(path.join(ROOT, 'deploy', 'docker', 'healthcheck.cjs'), 'utf8')).toContain("'/healthz'");
  });

  it("probe the port compose gives each service's health endpoint", () => {
    for (const { name, text } of dockerfiles) {
      if (name === 'nginx') continue;
      const [, variable, fallback] = text.match(/healthcheck\.cjs", "([A-Z_]+)", "(\d+)"/) ?? [];
      expect([name, compose.services[name]!.environment?.[variable!]]).toEqual([name, fallback]);
    }
  });

  it('install only production dependencies into the Node images', () => {
    for (const { name, text } of dockerfiles) {
      if (name === 'nginx') {
        expect(finalStage(text)).not.toMatch(/node_modules|npm /);
        continue;
      }
      expect([name, text]).toEqual([name, expect.stringContaining(`npm ci --omit=dev --workspace services/${name}`)]);
      expect([name, finalStage(text)]).toEqual([name, expect.not.stringMatching(/npm (ci|install)/)]);
    }
  });

  it('give the terminal-worker the tools a user expects, and tini to reap orphans', () => {
    const text = dockerfiles.find((d) => d.name === 'terminal-worker')!.text;
    const finalText = finalStage(text);
    for (const tool of ['bash', 'coreutils', 'less', 'git', 'curl', 'tini']) {
      expect([tool, new RegExp(`\\b${tool}\\b`).test(finalText)]).toEqual([tool, true]);
    }
    expect(/\bvim(-tiny)?\b|\bnano\b/.test(finalText)).toBe(true);
    expect(finalText).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]/m);
  });
});

describe('nginx configuration', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ctos-nginx-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes nginx -t as the launcher writes it', async () => {
    const prefix = writeNginxPrefix(dir, {
      listen: { host: '127.0.0.1', port: 18089 },
      gateways: [
        { host: '127.0.0.1', port: 18090 },
        { host: '127.0.0.1', port: 18091 },
      ],
      webRoot: path.join(ROOT, 'web', 'dist'),
    });
    const output = await checkNginxConfig(findNginx(process.env.PATH), prefix);
    expect(output).toContain('test is successful');
    expect(readFileSync(prefix.confFile, 'utf8')).toBe(readFileSync(NGINX_CONF, 'utf8'));
  });

  it("sends the page's Content-Security-Policy, the one embedded mode sends", () => {
    const header = readFileSync(NGINX_CONF, 'utf8').match(/add_header Content-Security-Policy "([^"]+)" always;/)?.[1];
    expect(header).toBe(CONTENT_SECURITY_POLICY);
  });

  it('proxies WebSockets with timeouts far above the heartbeat and affinity for polling', () => {
    const conf = readFileSync(NGINX_CONF, 'utf8');
    expect(conf).toMatch(/proxy_http_version 1\.1;/);
    expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(conf).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    expect(conf).not.toMatch(/proxy_set_header Origin/);
    const seconds = (name: string): number => Number(conf.match(new RegExp(`${name} (\\d+)s;`))?.[1]);
    const defaultPingIntervalS = 25;
    expect(seconds('proxy_read_timeout')).toBeGreaterThan(10 * defaultPingIntervalS);
    expect(seconds('proxy_send_timeout')).toBeGreaterThan(10 * defaultPingIntervalS);
    expect(conf).toMatch(/^\s*hash \$remote_addr consistent;/m);
  });

  it('accepts the behind-a-proxy example as listen.conf', async () => {
    const prefix = writeNginxPrefix(path.join(dir, 'behind-proxy'), {
      listen: { host: '127.0.0.1', port: 18089 },
      gateways: [{ host: '127.0.0.1', port: 18090 }],
      webRoot: path.join(ROOT, 'web', 'dist'),
    });
    copyFileSync(
      path.join(ROOT, 'deploy', 'nginx', 'examples', 'listen-behind-proxy.conf'),
      path.join(prefix.dir, 'conf', 'listen.conf'),
    );
    expect(await checkNginxConfig(findNginx(process.env.PATH), prefix)).toContain('test is successful');
  });

  it('points compose at the gateway service port and the port compose publishes', () => {
    const upstreams = readFileSync(path.join(ROOT, 'deploy', 'nginx', 'compose', 'upstream-servers.conf'), 'utf8');
    expect(upstreams).toMatch(new RegExp(`^server gateway:${compose.services.gateway!.environment!.PORT}\\b`, 'm'));
    const listen = readFileSync(path.join(ROOT, 'deploy', 'nginx', 'compose', 'listen.conf'), 'utf8');
    expect(listen).toMatch(/^listen 8080;$/m);
  });
});

describe('deploy/OPERATIONS.md', () => {
  /** Every `name: 'ctos_…'` in the sources of the packages and services. */
  function definedMetrics(): string[] {
    const names = new Set<string>();
    const visit = (folder: string): void => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const file = path.join(folder, entry.name);
        if (entry.isDirectory()) visit(file);
        else if (entry.name.endsWith('.ts')) {
          for (const m of readFileSync(file, 'utf8').matchAll(/name: '(ctos_[a-z0-9_]+)'/g)) names.add(m[1]!);
        }
      }
    };
    for (const group of ['packages', 'services']) {
      for (const pkg of readdirSync(path.join(ROOT, group))) {
        const src = path.join(ROOT, group, pkg, 'src');
        if (existsSync(src)) visit(src);
      }
    }
    return [...names].sort();
  }

  it('explains every metric the services export', () => {
    const guide = readFileSync(OPERATIONS, 'utf8');
    const metrics = definedMetrics();
    expect(metrics.length).toBeGreaterThan(5);
    expect(metrics.filter((name) => !guide.includes(`\`${name}\``))).toEqual([]);
  });
});
