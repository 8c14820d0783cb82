import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/** The repository root (this file is in apps/launcher/src or dist). */
const REPO_ROOT = path.resolve(__dirname, '../../..');

/** The nginx configuration docker-compose uses too; copied verbatim into each prefix. */
export const NGINX_CONF_SOURCE = path.join(REPO_ROOT, 'deploy', 'nginx', 'nginx.conf');

/** A folder only its owner may enter. */
const PRIVATE_DIR_MODE = 0o700;

/** Debian installs nginx here; it is not on a non-root user's PATH. */
const NGINX_CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'];

/** A `host:port` nginx should proxy to. */
export interface UpstreamAddress {
  host: string;
  port: number;
}

/** An nginx prefix laid out like the container's: conf/, html/, logs/, temp/. */
export interface NginxPrefix {
  /** The prefix folder, for `nginx -p` (ends with a slash). */
  dir: string;
  /** `conf/nginx.conf` inside it. */
  confFile: string;
  pidFile: string;
  errorLog: string;
}

/** Options of {@link writeNginxPrefix}. */
export interface NginxPrefixOptions {
  listen: UpstreamAddress;
  gateways: readonly UpstreamAddress[];
  /** The built web page (a folder with index.html). */
  webRoot: string;
}

/** IPv6 literals need brackets in `host:port`. */
function hostPort(address: UpstreamAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/**
 * The body of `upstream-servers.conf`: one server per gateway. A gateway that refuses a
 * connection is skipped for 10 s (`max_fails=1`): a killed one must not cost every
 * reconnecting client a failed attempt.
 * @throws Error when `gateways` is empty (nginx refuses an empty upstream).
 */
export function renderUpstreamServers(gateways: readonly UpstreamAddress[]): string {
  if (gateways.length === 0) throw new Error('nginx needs at least one gateway');
  return (
    '# Written by the process launcher: one line per gateway.\n' +
    gateways.map((g) => `server ${hostPort(g)} max_fails=1 fail_timeout=10s;\n`).join('')
  );
}

/** The body of `listen.conf` for a plain-HTTP listener. */
export function renderListen(listen: UpstreamAddress): string {
  return `# Written by the process launcher.\nlisten ${hostPort(listen)};\n`;
}

/**
 * Lays out an nginx prefix in `dir`: the shared configuration, the two per-deployment
 * include files, a link to the web page, and the log and temp folders.
 */
export function writeNginxPrefix(dir: string, options: NginxPrefixOptions): NginxPrefix {
  const prefix = path.resolve(dir);
  for (const sub of ['conf', 'temp']) mkdirSync(path.join(prefix, sub), { recursive: true });
  // The access log holds clients' addresses: the master (which opens it) reads it, users' shells do not.
  mkdirSync(path.join(prefix, 'logs'), { recursive: true, mode: PRIVATE_DIR_MODE });
  copyFileSync(NGINX_CONF_SOURCE, path.join(prefix, 'conf', 'nginx.conf'));
  writeFileSync(path.join(prefix, 'conf', 'listen.conf'), renderListen(options.listen));
  writeUpstreams(prefix, options.gateways);
  const html = path.join(prefix, 'html');
  rmSync(html, { force: true, recursive: false });
  symlinkSync(path.resolve(options.webRoot), html);
  return {
    dir: `${prefix}/`,
    confFile: path.join(prefix, 'conf', 'nginx.conf'),
    pidFile: path.join(prefix, 'logs', 'nginx.pid'),
    errorLog: path.join(prefix, 'logs', 'error.log'),
  };
}

/** Rewrites `conf/upstream-servers.conf` (then reload nginx with SIGHUP). */
export function writeUpstreams(prefixDir: string, gateways: readonly UpstreamAddress[]): void {
  writeFileSync(path.join(prefixDir, 'conf', 'upstream-servers.conf'), renderUpstreamServers(gateways));
}

/**
 * The nginx binary: Debian's, or the first `nginx` on PATH.
 * @throws Error with the install command when there is none.
 */
export function findNginx(pathVariable = ''): string {
  const candidates = [...NGINX_CANDIDATES, ...pathVariable.split(':').map((dir) => path.join(dir, 'nginx'))];
  const found = candidates.find((file) => file !== 'nginx' && existsSync(file));
  if (!found) throw new Error('nginx is not installed. Install it with: sudo apt-get install -y nginx');
  return found;
}

/**
 * The arguments that run nginx in the foreground on `prefix` (so its pid is the child's).
 * Started by root, nginx's workers would drop to `nobody`, who may not traverse the state
 * folder or the checkout (/root is 0700): they run as the launcher's user instead, like
 * every other process the launcher starts. (The container runs nginx as `nginx`, not root.)
 */
export function nginxArgs(prefix: NginxPrefix, launcherIsRoot = process.getuid?.() === 0): string[] {
  const globals = launcherIsRoot ? 'daemon off; user root;' : 'daemon off;';
  return ['-p', prefix.dir, '-c', 'conf/nginx.conf', '-e', 'logs/error.log', '-g', globals];
}

/**
 * Runs `nginx -t` on the prefix's configuration.
 * @throws Error carrying nginx's own message when the configuration is invalid.
 */
export async function checkNginxConfig(nginx: string, prefix: NginxPrefix): Promise<string> {
  try {
    const { stderr } = await promisify(execFile)(nginx, [
      '-t',
      '-p',
      prefix.dir,
      '-c',
      'conf/nginx.conf',
      '-e',
      'logs/error.log',
    ]);
    return stderr;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`nginx rejected its configuration:\n${stderr || (error as Error).message}`, { cause: error });
  }
}
