/**
 * A gate a test closes to hold calls at a chosen point (a store call, an emit) and opens
 * to let them through, so a race is played out in the order the test wants, not by time.
 * The held code awaits {@link pass}.
 */
export class Gate {
  /** Calls that waited at the gate since it was last closed. */
  held = 0;
  private isClosed = false;
  private opened: Promise<void> = Promise.resolve();
  private openNow: () => void = () => undefined;

  /** From now on, {@link pass} waits until {@link open}. */
  close(): void {
    this.isClosed = true;
    this.held = 0;
    this.opened = new Promise((resolve) => (this.openNow = resolve));
  }

  /** Lets every waiting call through, and the later ones at once. */
  open(): void {
    this.isClosed = false;
    this.openNow();
  }

  /** Resolves at once while open; while closed, counts the call and waits until open. */
  async pass(): Promise<void> {
    if (!this.isClosed) return;
    this.held++;
    await this.opened;
  }
}
