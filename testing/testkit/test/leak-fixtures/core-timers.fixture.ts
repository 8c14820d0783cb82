import { setInterval as coreInterval, setTimeout as coreTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

it('leaves timers made through the core modules pending', () => {
  coreTimeout(() => undefined, 60_000);
  coreInterval(() => undefined, 60_000);
  void sleep(60_000);
  void promisify(setTimeout)(60_000);
});
