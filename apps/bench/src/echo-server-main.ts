import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { toParent } from './ipc';

/**
 * The bare Socket.IO baseline: an HTTP server with Socket.IO, WebSocket only, that sends
 * every `echo` event straight back — no PTY, no Redis, no auth, no validation. Its port
 * goes to the parent as `{type: 'listening', port}`.
 */
const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false });
io.on('connection', (socket) => {
  socket.on('echo', (data: unknown) => {
    socket.emit('echo', data);
  });
});
http.listen(0, '127.0.0.1', () => {
  toParent({ type: 'listening', port: (http.address() as AddressInfo).port });
});
process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});
