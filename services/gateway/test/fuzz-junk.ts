import fc from 'fast-check';

/**
 * Keys that reach an object's prototype, or that code tends to call, when a payload is
 * merged or indexed carelessly (`__proto__` set as an own key, the way JSON.parse does).
 */
export const POLLUTION_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
  '__lookupGetter__',
  'toJSON',
  'then',
] as const;

/** Strings past this many UTF-16 units would only repeat what a shorter huge one shows. */
const HUGE_STRING_UNITS = 1_100_000;
/** Nesting deep enough to hurt a recursive walker, shallow enough for the test's own encoder. */
const MAX_NESTING = 2000;

/** Sets `key` as an own, enumerable property even when it is `__proto__` (an object literal would set the prototype). */
export function withKey(target: object, key: string, value: unknown): object {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** A shallow copy that keeps every own key as an own key, `__proto__` included. */
export function copyOwn(source: object): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) withKey(copy, key, (source as Record<string, unknown>)[key]);
  return copy;
}

/** A string of exactly `units` UTF-16 units, each an ASCII, Latin, CJK or space character. */
export function sizedString(units: fc.Arbitrary<number>): fc.Arbitrary<string> {
  return fc.tuple(units, fc.constantFrom('x', 'é', '語', ' ', '\u0000')).map(([n, unit]) => unit.repeat(n));
}

/** Strings that cannot be encoded as UTF-8: a surrogate without its pair. */
export const loneSurrogates: fc.Arbitrary<string> = fc
  .tuple(
    fc.string({ maxLength: 4 }),
    fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF'),
    fc.string({ maxLength: 4 }),
  )
  .map(([before, half, after]) => `${before}${half}${after}`);

/** Unicode that trips naive code: controls, bidi overrides, zero-width joiners, astral characters, combining marks. */
export const awkwardText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme-composite', maxLength: 12 }),
  fc.constantFrom('\u202Eevil', 'a\u200Db', '\uFEFF', '😀'.repeat(3), 'e\u0301', '\r\n\u001b[6n', '%s%n', '${x}'),
  loneSurrogates,
);

/** Binary as a client can send it: Node buffers, ArrayBuffers and typed arrays, empty ones included. */
export const binary: fc.Arbitrary<unknown> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => bytes.buffer),
  fc.float64Array({ maxLength: 8 }),
  fc.constant(Buffer.alloc(0)),
);

/** Arrays or objects nested hundreds to thousands deep. */
export const deepNesting: fc.Arbitrary<unknown> = fc
  .tuple(fc.integer({ min: 50, max: MAX_NESTING }), fc.constantFrom('array', 'object', 'proto'))
  .map(([depth, shape]) => {
    let value: unknown = 'bottom';
    for (let d = 0; d < depth; d++) {
      if (shape === 'array') value = [value];
      else value = withKey({}, shape === 'object' ? 'a' : '__proto__', value);
    }
    return value;
  });

/** Objects aimed at prototype pollution, as JSON.parse would build them. */
export const pollutingObject: fc.Arbitrary<object> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...POLLUTION_KEYS), fc.jsonValue({ maxDepth: 2 }))
    .map(([key, value]) => withKey({}, key, value)),
  fc.constant(null).map(() => withKey({}, '__proto__', { polluted: 'yes', session_id: 'x' })),
  fc.constant(null).map(() => ({ constructor: { prototype: { polluted: 'yes' } } })),
);

/** Huge strings: near and past every length bound the protocol has. */
export const hugeString: fc.Arbitrary<string> = sizedString(fc.integer({ min: 10_000, max: HUGE_STRING_UNITS }));

/**
 * Anything a client can put on the wire, and things that are not quite JSON (Maps, Sets,
 * dates, boxed values, sparse arrays, null-prototype objects); BigInt is left out because
 * the client itself cannot encode it.
 */
export const anyValue: fc.Arbitrary<unknown> = fc.anything({
  maxDepth: 3,
  maxKeys: 5,
  key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...POLLUTION_KEYS)),
  values: [fc.boolean(), fc.integer(), fc.double(), awkwardText, fc.constant(null), fc.constant(undefined)],
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withObjectString: true,
  withNullPrototype: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
});

/** Arbitrary junk for a payload or a field: every family above. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: anyValue },
  { weight: 2, arbitrary: pollutingObject },
  { weight: 2, arbitrary: binary },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: hugeString },
  { weight: 2, arbitrary: awkwardText },
);

/** Event names Socket.IO keeps for itself: the client refuses to emit them. */
const RESERVED_EVENTS = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);

/** Names a client may emit that the protocol does not define: near-misses of real ones, prototype names, junk. */
export function unknownEventNames(known: readonly string[]): fc.Arbitrary<string> {
  const knownSet = new Set(known);
  const nearMisses = fc
    .tuple(
      fc.constantFrom(...known),
      fc.constantFrom(
        (name: string) => name.toUpperCase(),
        (name: string) => `${name} `,
        (name: string) => name.replace(':', ''),
        (name: string) => name.replace(':', '.'),
        (name: string) => `${name}\u0000`,
        (name: string) => `${name}s`,
        (name: string) => name.slice(0, -1),
      ),
    )
    .map(([name, mangle]) => mangle(name));
  return fc
    .oneof(
      fc.constantFrom(
        ...POLLUTION_KEYS,
        'error',
        'terminal:destroy',
        'ai:drop',
        'message:delete',
        '*',
        '',
        'terminal:',
      ),
      nearMisses,
      fc.string({ unit: 'binary', maxLength: 40 }),
      sizedString(fc.integer({ min: 200, max: 5000 })),
    )
    .filter((name) => !knownSet.has(name) && !RESERVED_EVENTS.has(name));
}
