import { spawn } from 'node:child_process';

it("leaves a detached, unref'd child process running", async () => {
  // Outlives jest: the leak check's report gives its pid, and leak-check.test.ts kills it.
  const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  child.unref();
});
