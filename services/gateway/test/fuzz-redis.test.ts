/**
 * The protocol fuzz on the distributed build (every service on its own transport over
 * the shared Redis): see fuzz-suite.ts. fuzz.test.ts runs it on embedded mode.
 */
import { fuzzSuite } from './fuzz-suite';

fuzzSuite('redis');
