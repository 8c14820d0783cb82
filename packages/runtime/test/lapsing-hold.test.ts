import { LapsingHold } from '../src';

describe('a lapsing hold', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('is held until every hold is released, and then never lapses', () => {
    const lapsed = jest.fn();
    const gate = new LapsingHold<string>(1000, lapsed);
    gate.hold('a');
    gate.hold('a');
    gate.hold('b');
    expect(gate.release('a')).toBe(true);
    expect(gate.release('b')).toBe(true);
    expect(gate.isHeld).toBe(true);
    expect(gate.release('a')).toBe(true);
    expect(gate.isHeld).toBe(false);
    expect(gate.release('a')).toBe(false); // nothing left to end
    jest.advanceTimersByTime(5000);
    expect(lapsed).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('drops a holder that never releases, and says so once, from its own first hold', () => {
    const lapsed = jest.fn();
    const gate = new LapsingHold<string>(1000, lapsed);
    gate.hold('gone');
    jest.advanceTimersByTime(600);
    gate.hold('gone'); // a later hold does not extend the first one's time
    jest.advanceTimersByTime(400);
    expect(lapsed.mock.calls).toEqual([['gone']]);
    expect(gate.isHeld).toBe(false);
    expect(gate.release('gone')).toBe(false);
  });

  it("gives each holder its own time: a new holder's hold does not lapse with an older one's", () => {
    const lapsed = jest.fn();
    const gate = new LapsingHold<string>(1000, lapsed);
    gate.hold('stale');
    jest.advanceTimersByTime(950);
    gate.hold('fresh'); // 50 ms before the stale holder lapses
    jest.advanceTimersByTime(50);
    expect(lapsed.mock.calls).toEqual([['stale']]);
    expect(gate.isHeld).toBe(true); // the fresh hold has its whole second
    jest.advanceTimersByTime(949);
    expect(gate.isHeld).toBe(true);
    expect(gate.release('fresh')).toBe(true);
    expect(gate.isHeld).toBe(false);
  });

  it("never lets a late release, after its holder lapsed, end another holder's hold", () => {
    const lapsed = jest.fn();
    const gate = new LapsingHold<string>(1000, lapsed);
    gate.hold('first');
    jest.advanceTimersByTime(1000); // lapsed: its gateway is slow, not dead
    gate.hold('second');
    expect(gate.release('first')).toBe(false); // the first answer arrives late
    expect(gate.isHeld).toBe(true);
    expect(gate.release('second')).toBe(true);
    expect(gate.isHeld).toBe(false);
  });

  it('releases all at once without lapsing, leaving no timer, and takes no hold once disposed', () => {
    const lapsed = jest.fn();
    const gate = new LapsingHold<string>(1000, lapsed);
    gate.hold('a');
    gate.hold('b');
    gate.dispose();
    expect(gate.isHeld).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    gate.hold('late');
    expect(gate.isHeld).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(5000);
    expect(lapsed).not.toHaveBeenCalled();
  });
});
