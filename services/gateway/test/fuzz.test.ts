/**
 * The protocol fuzz on embedded mode (gateway and workers in one process, in-memory bus):
 * see fuzz-suite.ts. fuzz-redis.test.ts runs it on the distributed build.
 */
import { fuzzSuite } from './fuzz-suite';

fuzzSuite('memory');
