/**
 * CLI entry: `node dist/main.js` starts a stand-in from the environment (see `startStandinFromEnv`),
 * prints `{"url":…}` on stdout and runs until SIGINT/SIGTERM. The environment is read in standin-env.ts.
 */
import { processEnvironment, startStandinFromEnv } from './standin-env';

async function main(): Promise<void> {
  const standin = await startStandinFromEnv(processEnvironment(), (line) => process.stdout.write(`${line}\n`));
  const stop = (): void => {
    void standin.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`anthropic-standin: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
