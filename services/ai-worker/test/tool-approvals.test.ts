import { waitFor } from '@ctos/testkit';
import { MemoryStore } from '@ctos/transport';
import { pendingKey, ToolApprovals, type ApprovalRequest } from '../src/tool-approvals';

const call = (id: string, over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  user: 'ann',
  conversation_id: 'c1',
  message_id: 'm1',
  tool_use_id: id,
  name: 'run_command',
  input: { command: 'uname -s' },
  ...over,
});

describe('approval of tool calls, on the server', () => {
  const store = new MemoryStore();
  const approvals: ToolApprovals[] = [];
  const make = (timeoutMs = 60_000): ToolApprovals => {
    const made = new ToolApprovals(store, 'ai-1', timeoutMs);
    approvals.push(made);
    return made;
  };
  afterEach(() => {
    for (const made of approvals.splice(0)) made.dispose();
  });

  it('runs a call only on its user’s allow, refuses anyone else’s decision as not found, and records where it waits', async () => {
    const gate = make();
    const decided = gate.decision(call('t1'));
    await waitFor(async () => (await store.get(pendingKey('t1'))) !== null, { message: 'the pending call recorded' });
    expect(JSON.parse((await store.get(pendingKey('t1')))!)).toEqual({ user: 'ann', worker: 'ai-1' });
    expect(gate.pending('c1').map((pending) => pending.tool_use_id)).toEqual(['t1']);
    await expect(gate.decide('bob', 't1', 'allow')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(gate.decide('ann', 'other', 'allow')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await gate.decide('ann', 't1', 'allow');
    expect(await decided).toBe('allowed');
    expect(await store.get(pendingKey('t1'))).toBeNull();
    expect(gate.pending('c1')).toEqual([]);
  });

  it('denies on deny, on no decision within the timeout, and when the reply is cancelled', async () => {
    const gate = make();
    const denied = gate.decision(call('t2'));
    await waitFor(() => gate.pending('c1').length === 1, { message: 'the call to wait' });
    await gate.decide('ann', 't2', 'deny');
    expect(await denied).toBe('denied');
    expect(await make(50).decision(call('t3'))).toBe('timed_out');
    const cancel = new AbortController();
    const cancelled = gate.decision(call('t4'), cancel.signal);
    cancel.abort();
    expect(await cancelled).toBe('timed_out');
  });

  it('allows later calls of the same tool in the same conversation after allow_for_conversation, on any worker', async () => {
    const first = make();
    const waiting = first.decision(call('t5', { conversation_id: 'c2' }));
    await waitFor(() => first.pending('c2').length === 1, { message: 'the call to wait' });
    await first.decide('ann', 't5', 'allow_for_conversation');
    expect(await waiting).toBe('allowed');
    const other = make(50);
    expect(await other.decision(call('t6', { conversation_id: 'c2' }))).toBe('allowed');
    expect(await other.decision(call('t7', { conversation_id: 'c2', name: 'read_terminal' }))).toBe('timed_out');
    expect(await other.decision(call('t8', { conversation_id: 'c3' }))).toBe('timed_out');
  });
});
