#!/usr/bin/env node
// Makes a fresh clone runnable: installs npm dependencies when they are missing or stale,
// installs the Debian packages the tests need (as root), and builds. Node built-ins only:
// this runs before anything is installed.
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
// `--system-packages` installs what the tests need; `--system-packages=a,b` only those binaries.
const wanted = process.argv
  .slice(2)
  .find((arg) => arg.startsWith('--system-packages='))
  ?.slice('--system-packages='.length)
  .split(',');
const run = (command, commandArgs, options = {}) =>
  execFileSync(command, commandArgs, { cwd: root, stdio: 'inherit', ...options });

function mtime(file) {
  try {
    return statSync(path.join(root, file)).mtimeMs;
  } catch {
    return 0;
  }
}

// npm writes node_modules/.package-lock.json on every install: older than the lockfile means stale.
if (
  !existsSync(path.join(root, 'node_modules')) ||
  mtime('node_modules/.package-lock.json') < mtime('package-lock.json')
) {
  console.log('> installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

if (args.has('--system-packages') || wanted) {
  const needed = [
    ['redis-server', 'redis-server'],
    ['nginx', 'nginx'],
    ['chromium', 'chromium'],
    ['docker-compose', 'docker-compose'],
  ]
    .filter(([binary]) => !wanted || wanted.includes(binary))
    .filter(([binary]) => {
      try {
        execFileSync('sh', ['-c', `command -v ${binary} || test -x /usr/sbin/${binary}`], { stdio: 'ignore' });
        return false;
      } catch {
        return true;
      }
    });
  if (needed.length > 0) {
    const packages = needed.map(([, pkg]) => pkg);
    if (process.getuid?.() !== 0) {
      console.error(
        `The tests need these Debian packages: ${packages.join(' ')}\nInstall them with: sudo apt-get install -y ${packages.join(' ')}`,
      );
      process.exit(1);
    }
    console.log(`> installing Debian packages: ${packages.join(' ')}`);
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', ...packages], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
}

// The tests share a Redis at 127.0.0.1:6379 (each with its own key prefix). Machines
// without a service manager have the package but no running server: start one, as the
// machine's own set-up does (nothing persisted).
if (args.has('--system-packages') && !wanted) {
  const answers = await new Promise((resolve) => {
    const socket = connect(6379, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (!answers) {
    console.log('> starting redis-server on 127.0.0.1:6379 for the tests');
    run('redis-server', [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '--port',
      '6379',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
  }
}

if (args.has('--build')) {
  console.log('> building');
  run('npm', ['run', 'build', '--silent']);
}
