import { LapsingHold } from '../src';

describe('a lapsing hold', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('is held until every hold is released, and then never lapses', () => {
    const lapsed = jest.fn();
    const gate = new LapsingHold(1000, lapsed);
    gate.hold();
    gate.hold();
    expect(gate.release()).toBe(true);
    expect(gate.isHeld).toBe(true);
    expect(gate.release()).toBe(true);
    expect(gate.isHeld).toBe(false);
    expect(gate.release()).toBe(false); // nothing left to end
    jest.advanceTimersByTime(5000);
    expect(lapsed).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('drops every hold and says so once when the holder never releases', () => {
    const lapsed = jest.fn();
    const gate = new LapsingHold(1000, lapsed);
    gate.hold();
    jest.advanceTimersByTime(600);
    gate.hold(); // a later hold does not extend the first one's time
    jest.advanceTimersByTime(400);
    expect(lapsed).toHaveBeenCalledTimes(1);
    expect(gate.isHeld).toBe(false);
    expect(gate.release()).toBe(false);
  });

  it('releases all at once without lapsing, leaving no timer', () => {
    const lapsed = jest.fn();
    const gate = new LapsingHold(1000, lapsed);
    gate.hold();
    gate.hold();
    gate.dispose();
    expect(gate.isHeld).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(5000);
    expect(lapsed).not.toHaveBeenCalled();
  });
});
