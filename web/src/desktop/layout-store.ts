/** A window's place on the desktop, in CSS pixels relative to the desktop area. */
export interface WindowGeometry {
  x: number;
  y: number;
  width: number;
  height: number;
  maximized?: boolean;
}

/** What is remembered per window key (`terminal:<session_id>`, `assistant`, `messages`). */
export interface WindowRecord extends WindowGeometry {
  /** Whether the window was open when the page went away. */
  open: boolean;
}

/** Most windows remembered; the oldest are forgotten first (terminals that ended elsewhere). */
const MAX_RECORDS = 64;

/**
 * Remembers where each window was and which were open, in localStorage per user, so a
 * reload puts the desktop back as it was. Storage failures (private mode, quota) only
 * lose the layout, never the session.
 */
export class LayoutStore {
  private records: Record<string, WindowRecord>;

  constructor(private readonly storageKey: string) {
    this.records = this.load();
  }

  get(key: string): WindowRecord | undefined {
    return this.records[key];
  }

  /** Keys of windows of a kind (key prefix) that were open. */
  openKeys(prefix: string): string[] {
    return Object.entries(this.records)
      .filter(([key, record]) => key.startsWith(prefix) && record.open)
      .map(([key]) => key);
  }

  set(key: string, record: WindowRecord): void {
    delete this.records[key]; // re-inserted last: the newest record is the last evicted
    this.records[key] = record;
    const keys = Object.keys(this.records);
    for (const old of keys.slice(0, Math.max(0, keys.length - MAX_RECORDS))) delete this.records[old];
    this.save();
  }

  delete(key: string): void {
    delete this.records[key];
    this.save();
  }

  private load(): Record<string, WindowRecord> {
    try {
      const parsed: unknown = JSON.parse(localStorage.getItem(this.storageKey) ?? '{}');
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, WindowRecord>) : {};
    } catch {
      return {}; // unreadable layout: start from the default one
    }
  }

  private save(): void {
    try {
      localStorage.setItem(this.storageKey, JSON.stringify(this.records));
    } catch {
      // Quota or privacy mode: the layout is a convenience, the desktop works without it.
    }
  }
}
