import { connect, createServer } from 'node:net';

it('leaves a server and a connection to it open', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => connect(address.port, '127.0.0.1', resolve));
});
