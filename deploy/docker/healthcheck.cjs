// Container health check: GET http://127.0.0.1:<port>/healthz must answer 200 within 3 s.
// Usage: node healthcheck.cjs <PORT_VARIABLE> <default port>. Node built-ins only: the
// images have no curl (except the terminal-worker's, which users need anyway).
'use strict';
const http = require('node:http');

/** Longer than a healthy process ever takes; shorter than compose's 5 s check timeout. */
const TIMEOUT_MS = 3000;

const [variable, fallback] = process.argv.slice(2);
const port = Number(process.env[variable] || fallback);
const request = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: TIMEOUT_MS }, (response) => {
  response.resume();
  process.exit(response.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => request.destroy(new Error('timed out')));
request.on('error', (error) => {
  process.stderr.write(`healthz on port ${port}: ${error.message}\n`);
  process.exit(1);
});
