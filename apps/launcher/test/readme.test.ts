import { readFileSync } from 'node:fs';
import path from 'node:path';
import { aiWorkerSettings } from '@ctos/ai-worker';
import { gatewaySettings } from '@ctos/gateway';
import { messageWorkerSettings } from '@ctos/message-worker';
import { terminalWorkerSettings } from '@ctos/terminal-worker';
import { clusterSettings } from '../src/cluster-config';
import { embeddedSettings } from '../src/embedded-config';

const readme = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

describe('the README', () => {
  it.each([
    ['gateway', gatewaySettings],
    ['terminal-worker', terminalWorkerSettings],
    ['message-worker', messageWorkerSettings],
    ['ai-worker', aiWorkerSettings],
    ['embedded mode', embeddedSettings],
    ['cluster launcher', clusterSettings],
  ])('documents every environment variable the %s reads', (_name, settings) => {
    const missing = Object.keys(settings).filter((key) => !readme.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });

  it('gives the two commands of the quick start', () => {
    expect(readme).toMatch(/```sh\nnpm start\n```/);
    expect(readme).toMatch(/```sh\nnpm test\n```/);
  });
});
