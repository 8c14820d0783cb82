import { ConfigError, createLogger, exitOnSignal, guardProcess, setting } from '@ctos/runtime';
import { processEnv } from './embedded-config';
import { startEmbedded } from './embedded';

/** `npm start`: embedded mode, one process, printing a one-time login URL. */
async function main(): Promise<void> {
  const env = processEnv();
  // A bad LOG_LEVEL is reported below with every other bad setting (status 2); until then, info.
  const parsedLevel = setting.logLevel().safeParse(env.LOG_LEVEL || undefined);
  const level = parsedLevel.success ? parsedLevel.data : 'info';
  const logger = createLogger({ service: 'embedded', level });
  guardProcess(logger);
  let system;
  try {
    system = await startEmbedded({ env, logger: (service) => createLogger({ service, level }) });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      const port = env.PORT ?? '8089';
      process.stderr.write(
        `Cannot listen on ${env.HOST ?? '127.0.0.1'}:${port} (${code === 'EADDRINUSE' ? 'already in use' : 'not permitted'}). ` +
          `Choose another port, e.g. PORT=9000 npm start (PORT=0 picks a free one).\n`,
      );
      process.exit(1);
    }
    logger.fatal({ err: error }, 'embedded mode could not start');
    process.exit(1);
  }
  process.stdout.write(
    [
      '',
      '  ctos-realtime is running (embedded mode).',
      '',
      '  Open this URL to sign in (it works once):',
      '',
      `    ${system.loginUrl()}`,
      '',
      `  Message producer API: POST ${system.messageApi.url}/messages (Authorization: Bearer ${system.messageApi.token})`,
      '',
      '',
    ].join('\n'),
  );
  exitOnSignal(() => system.stop(), logger);
}

void main();
