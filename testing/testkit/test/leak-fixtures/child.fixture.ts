import { spawn } from 'node:child_process';

it('leaves a child process running', async () => {
  // Exits by itself once its stdin closes (when this jest worker is gone): nothing outlives the run.
  const child = spawn(process.execPath, [
    '-e',
    'process.stdin.resume(); process.stdin.on("end", () => process.exit())',
  ]);
  await new Promise((resolve) => child.once('spawn', resolve));
});
