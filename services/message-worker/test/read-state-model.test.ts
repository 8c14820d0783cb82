import fc from 'fast-check';
import { BUILDS, startCluster, type TestCluster } from './harness';
import { commandArbitraries, GATEWAYS, openTab, Post, Reconnect, WORKERS } from './read-state-commands';
import type { ReadStateModel, ReadStateSystem } from './read-state-model';
import { List } from './read-state-queries';

/**
 * Sequences tried per build, and commands per sequence: 5–15 s a build on 2 idle cores.
 * A failure prints fast-check's `seed` and `path` (pass both to `fc.assert`) and the
 * counterexample's `replayPath` (pass it to `fc.commands`): the three replay it.
 */
const NUM_RUNS = 50;
const MAX_COMMANDS = 30;
/** The whole property, shrinking included, stops here (ms) so jest reports fast-check's counterexample, not its own timeout. */
const PROPERTY_BUDGET_MS = 100_000;
const TEST_TIMEOUT_MS = PROPERTY_BUDGET_MS + 20_000;
/** Rate limits are tested elsewhere; here they would only refuse a busy sequence. */
const NO_RATE_LIMIT = '1000000';

/** A fresh model and system for one sequence: alice with a tab on each gateway, bob with one. */
async function setUp(cluster: TestCluster, run: number) {
  let titles = 0;
  const model: ReadStateModel = {
    users: [
      { messages: [], keys: [] },
      { messages: [], keys: [] },
    ],
    tabs: [],
  };
  const system: ReadStateSystem = {
    cluster,
    users: [`alice-${run}`, `bob-${run}`],
    tabs: [],
    title: () => `m${++titles}`,
    log: [],
  };
  await openTab(model, system, 0, 0);
  await openTab(model, system, 0, 1);
  await openTab(model, system, 1, 1);
  return { model, system };
}

/**
 * After the sequence: every disconnected tab comes back and catches up, then one more
 * message per user. Emits reach a tab in order, so once each tab has that message no
 * straggler (a late duplicate) can still be on its way. Last, each user's whole list as
 * the server keeps it, which no push could have hidden.
 */
async function finish(model: ReadStateModel, system: ReadStateSystem): Promise<void> {
  for (const [i, tab] of model.tabs.entries()) {
    if (!tab.open) await new Reconnect(i, i % GATEWAYS, 0).run(model, system);
  }
  for (const user of [0, 1]) await new Post(user, user, 1, 'none').run(model, system);
  for (const user of [0, 1])
    await new List(
      model.tabs.findIndex((tab) => tab.user === user),
      3,
    ).run(model, system);
}

/**
 * A model-based test of read state across tabs (issue 22): random sequences of producer
 * posts (some keyed, some retried, some racing each other through both workers), marks
 * (one, up to, all; from any tab, racing posts and other tabs), disconnects, reconnects
 * (syncing from the last id while posts and marks race the catch-up), new tabs, lists and
 * syncs, for two users. After every command each connected tab must settle on exactly
 * its user's model (messages, order, read flags, unread count) and each disconnected tab
 * must hold an older, consistent view; see read-state-model.ts for the checks.
 */
describe.each(BUILDS)('message read state across tabs, against a model (%s)', (build) => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(build, {
      gateways: GATEWAYS,
      workers: WORKERS,
      env: { MESSAGE_API_REQUESTS_PER_SECOND: NO_RATE_LIMIT, MESSAGE_API_BURST: NO_RATE_LIMIT },
      gatewayEnv: { GATEWAY_EVENTS_PER_SECOND: NO_RATE_LIMIT, GATEWAY_EVENTS_BURST: NO_RATE_LIMIT },
    });
  });
  afterAll(() => cluster.stop());

  it(
    'keeps every tab equal to the model through posts, marks, reconnects and new tabs, and the other user untouched',
    async () => {
      let run = 0;
      const property = fc.asyncProperty(
        fc.commands(commandArbitraries(), { maxCommands: MAX_COMMANDS, size: 'max' }),
        async (commands) => {
          const { model, system } = await setUp(cluster, ++run);
          try {
            await fc.asyncModelRun(() => ({ model, real: system }), commands);
            await finish(model, system);
          } catch (error) {
            // The counterexample names tabs and ids by pick; this is what they were in this run.
            if (error instanceof Error) error.message += `\nsteps run: ${system.log.join(', ')}`;
            throw error;
          } finally {
            for (const tab of system.tabs) tab.detach();
          }
        },
      );
      await fc.assert(property, { numRuns: NUM_RUNS, interruptAfterTimeLimit: PROPERTY_BUDGET_MS });
    },
    TEST_TIMEOUT_MS,
  );
});
