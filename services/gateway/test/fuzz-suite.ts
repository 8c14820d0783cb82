import { connectClient, signToken, type Build, type ClientSocket } from '@ctos/testkit';
import fc from 'fast-check';
import { checkStillServes } from './fuzz-afterwards';
import { record, runBatch, type FuzzHarness } from './fuzz-batch';
import { caseArbitrary, classicCases } from './fuzz-cases';
import { readState, seedUser, waitUntilDetached } from './fuzz-state';
import { MAX_INPUT_BYTES, startFuzzSystem, type FuzzSystem } from './fuzz-system';

/** Batches per run of the suite: each is one fast-check run, checked as a whole. */
const RUNS = 20;
/** Cases per batch; each is sent twice (with and without an ack). */
const BATCH = 50;

/** Replays a failure: `FUZZ_SEED` (and `FUZZ_PATH`) as the failure message prints them. */
function replay(): { seed?: number; path?: string } {
  const { FUZZ_SEED: seed, FUZZ_PATH: path } = process.env;
  return { ...(seed ? { seed: Number(seed) } : {}), ...(path ? { path } : {}) };
}

/** The prototypes a polluting payload would reach, with their own properties. */
const PROTOTYPES = [
  Object.prototype,
  Array.prototype,
  Function.prototype,
  String.prototype,
  Number.prototype,
  Boolean.prototype,
  Promise.prototype,
  Map.prototype,
  Set.prototype,
  RegExp.prototype,
  Error.prototype,
];
const prototypeFingerprint = (): unknown =>
  PROTOTYPES.map((prototype) =>
    Object.getOwnPropertyNames(prototype)
      .sort()
      .map((key) => [key, Object.getOwnPropertyDescriptor(prototype, key)?.value]),
  );

/**
 * Seeds the fuzzing user and another one with sessions, messages (some read) and
 * conversations, connects the fuzzing socket, a second tab of its user and the other
 * user's socket, and reads both users' state once everything is still.
 */
async function setUpHarness(
  system: FuzzSystem,
  connect: (user: string) => Promise<ClientSocket>,
): Promise<FuzzHarness> {
  const own = await seedUser(system, 'fuzzer', {
    terminals: [
      { cols: 80, rows: 24 },
      { cols: 132, rows: 43 },
    ],
    messages: 3,
    read: 1,
    conversations: 1,
  });
  const other = await seedUser(system, 'bystander', {
    terminals: [{ cols: 100, rows: 30 }],
    messages: 5,
    read: 2,
    conversations: 1,
  });
  const [fuzzer, tab, bystander] = [await connect('fuzzer'), await connect('fuzzer'), await connect('bystander')];
  await waitUntilDetached(fuzzer, 'fuzzer');
  await waitUntilDetached(bystander, 'bystander');
  return {
    fuzzer,
    tab,
    bystander,
    heard: { fuzzer: record(fuzzer), tab: record(tab), bystander: record(bystander) },
    before: { own: await readState(fuzzer), other: await readState(bystander) },
    knowledge: { own, other, maxInputBytes: MAX_INPUT_BYTES },
  };
}

/**
 * The protocol fuzz against one build: payloads generated from the protocol's schemas
 * and unknown events, each sent with and without an ack, to a system where the fuzzing
 * user and another user have sessions, messages and conversations.
 */
export function fuzzSuite(build: Build): void {
  describe(`a fuzz of every client event (${build} build)`, () => {
    let system: FuzzSystem;
    let harness: FuzzHarness;
    const sockets: ClientSocket[] = [];
    const connect = async (user: string): Promise<ClientSocket> => {
      const socket = await connectClient(system.url, await signToken(user));
      sockets.push(socket);
      return socket;
    };

    beforeAll(async () => {
      system = await startFuzzSystem(build);
      harness = await setUpHarness(system, connect);
    });
    afterAll(async () => {
      for (const socket of sockets) socket.close();
      await system?.stop();
    });

    it('answers each generated event as documented, with an ack and without, and changes no state', async () => {
      const batches = fc.array(caseArbitrary(harness.knowledge), { minLength: BATCH, maxLength: BATCH });
      const details = await fc.check(
        fc.asyncProperty(batches, (cases) => runBatch(harness, cases, prototypeFingerprint)),
        // A failed batch may have changed the state: shrinking against it would mislead.
        { numRuns: RUNS, endOnFailure: true, examples: [[classicCases(harness.knowledge)]], ...replay() },
      );
      if (details.failed) {
        const error =
          details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        throw new Error(
          `the fuzz failed (replay: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath}):\n${error}`,
        );
      }
    });

    it("still serves a fresh client afterwards, and the fuzzed users' shells still run", () =>
      checkStillServes(system, connect, harness.knowledge));
  });
}
