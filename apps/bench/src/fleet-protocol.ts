/** One socket a fleet opens: who it signs in as and which loopback address it binds. */
export interface FleetSocketSpec {
  user: string;
  /** A `127.x.y.z` address to connect from, so per-address limits see many hosts. */
  address: string;
}

/** Parent → fleet. */
export type FleetCommand =
  | {
      type: 'connect';
      url: string;
      sockets: FleetSocketSpec[];
      /** HS256 secret to sign each user's token with; omitted for a server without auth. */
      secret?: string;
      /** Handshakes in flight at once. */
      concurrency: number;
    }
  /** Report `reached` once this many `message:new` events have arrived in all (counted since connect). */
  | { type: 'expect'; total: number }
  /** Report how many `message:new` events have arrived so far. */
  | { type: 'count' }
  | { type: 'close' };

/** Fleet → parent. */
export type FleetReply =
  | { type: 'ready' }
  | { type: 'connected'; connected: number; failed: number; errors: string[]; ms: number }
  /** `at`: wall-clock ms (see `wallClockMs`) when the expected count was reached. */
  | { type: 'reached'; count: number; at: number }
  | { type: 'count'; count: number }
  | { type: 'closed' };
