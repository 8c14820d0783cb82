import fc from 'fast-check';
import {
  accepts,
  boundsOf,
  defOf,
  numberIn,
  numberOutside,
  type Bounds,
  type Def,
  type Schema,
} from './fuzz-schema-bounds';
import { awkwardText, binary, copyOwn, junk, loneSurrogates, POLLUTION_KEYS, sizedString, withKey } from './fuzz-junk';

/**
 * Values the test knows, by field name (ids of the user's own and of another user's
 * sessions, conversations and messages). A field draws from the ones its schema accepts
 * as often as from its schema, so valid-looking payloads point at real things.
 */
export type FieldHints = Readonly<Record<string, readonly unknown[]>>;

/** Short strings are the common case; a few are drawn at the schema's length bound. */
const SHORT_STRING_UNITS = 24;
/** Arrays get a few elements past their minimum. */
const EXTRA_ELEMENTS = 4;

/** Wrappers whose inner schema is what a present value must satisfy. */
type Wrapper = Extract<
  Def,
  { type: 'optional' | 'default' | 'prefault' | 'nullable' | 'readonly' | 'nonoptional' | 'catch' }
>;

const isWrapper = (def: Def): def is Wrapper =>
  ['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch'].includes(def.type);

/** True when an object may leave the field out. */
const mayBeAbsent = (schema: Schema): boolean => ['optional', 'default', 'prefault'].includes(defOf(schema).type);

function unsupported(def: Def): never {
  throw new Error(
    `the fuzz cannot derive payloads for a zod "${def.type}" schema yet: teach fuzz-schema-arbitraries.ts`,
  );
}

/** Values `schema` accepts. Derived from its definition, then checked against it (refinements, trims). */
export function validOf(schema: Schema, hints: FieldHints = {}): fc.Arbitrary<unknown> {
  return validRaw(schema, hints).filter((value) => accepts(schema, value));
}

function validRaw(schema: Schema, hints: FieldHints): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  if (isWrapper(def)) {
    const inner = validRaw(def.innerType, hints);
    if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault') {
      return fc.option(inner, { nil: undefined, freq: 4 });
    }
    return def.type === 'nullable' ? fc.option(inner, { nil: null, freq: 4 }) : inner;
  }
  switch (def.type) {
    case 'string':
      return validString(boundsOf(def));
    case 'number':
      return numberIn(boundsOf(def));
    case 'boolean':
      return fc.boolean();
    case 'literal':
      return fc.constantFrom(...def.values);
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries));
    case 'null':
      return fc.constant(null);
    case 'undefined':
    case 'void':
      return fc.constant(undefined);
    case 'any':
    case 'unknown':
      return junk;
    case 'object':
      return validObject(def.shape, hints);
    case 'union':
      return fc.oneof(...def.options.map((option) => validRaw(option, hints)));
    case 'array': {
      const { minLength, maxLength } = boundsOf(def);
      const max = Math.min(maxLength, minLength + EXTRA_ELEMENTS);
      return fc.array(validRaw(def.element, hints), { minLength, maxLength: max });
    }
    case 'tuple':
      return fc.tuple(...def.items.map((item) => validRaw(item, hints)));
    case 'record':
      return fc.dictionary(validRaw(def.keyType, hints) as fc.Arbitrary<string>, validRaw(def.valueType, hints), {
        maxKeys: 3,
      });
    case 'pipe':
      return validRaw(def.in, hints);
    default:
      return unsupported(def);
  }
}

function validString(bounds: Bounds): fc.Arbitrary<string> {
  if (bounds.pattern) return fc.stringMatching(bounds.pattern);
  const { minLength, maxLength } = bounds;
  const short = { minLength, maxLength: Math.min(maxLength, minLength + SHORT_STRING_UNITS) };
  const choices = [
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme', ...short }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', ...short }) },
  ];
  if (Number.isFinite(maxLength)) choices.push({ weight: 1, arbitrary: sizedString(fc.constant(maxLength)) });
  return fc.oneof(...choices);
}

/** A field's arbitrary: its schema, or as often a known value that the schema accepts. */
function fieldOf(name: string, schema: Schema, hints: FieldHints): fc.Arbitrary<unknown> {
  const known = (hints[name] ?? []).filter((value) => accepts(schema, value));
  const own = validRaw(schema, hints);
  return known.length > 0 ? fc.oneof(fc.constantFrom(...known), own) : own;
}

function validObject(shape: Readonly<Record<string, Schema>>, hints: FieldHints): fc.Arbitrary<object> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  const required: string[] = [];
  for (const [name, field] of Object.entries(shape)) {
    const absent = mayBeAbsent(field);
    // An optional field is left out (not set to undefined), as a client would.
    model[name] = fieldOf(name, absent ? (defOf(field) as Wrapper).innerType : field, hints);
    if (!absent) required.push(name);
  }
  return fc.record(model, { requiredKeys: required, noNullPrototype: true });
}

/** Values of the wrong JSON type (or binary) for any field; the caller filters out those the field takes. */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, '', '0', 'true', [], {}),
  fc.integer(),
  awkwardText,
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  binary,
);

/**
 * Values `schema` refuses: the wrong type, out of range, too long or short, not
 * well-formed text, an object with a field wrong, missing or extra. Undefined when the
 * schema takes anything (`z.unknown()`).
 */
export function invalidOf(schema: Schema, hints: FieldHints = {}): fc.Arbitrary<unknown> | undefined {
  const raw = invalidRaw(schema, hints);
  return raw?.filter((value) => !accepts(schema, value));
}

function invalidRaw(schema: Schema, hints: FieldHints): fc.Arbitrary<unknown> | undefined {
  const def = defOf(schema);
  if (isWrapper(def)) {
    const inner = invalidRaw(def.innerType, hints);
    return inner ? fc.oneof(fc.constant(null), inner) : fc.constant(null);
  }
  const specific = invalidSpecific(schema, def, hints);
  if (specific === 'anything') return undefined;
  return specific ? fc.oneof({ weight: 1, arbitrary: wrongType }, { weight: 3, arbitrary: specific }) : wrongType;
}

function invalidSpecific(schema: Schema, def: Def, hints: FieldHints): fc.Arbitrary<unknown> | 'anything' | undefined {
  switch (def.type) {
    case 'string':
      return invalidString(boundsOf(def));
    case 'number':
      return numberOutside(boundsOf(def));
    case 'boolean':
      return fc.constantFrom('true', 'false', 0, 1, 'yes');
    case 'literal':
    case 'enum': {
      const values = def.type === 'literal' ? def.values : Object.values(def.entries);
      return fc
        .constantFrom(...values)
        .map((value) => (typeof value === 'string' ? `${value.toUpperCase()} ` : `${value}`));
    }
    case 'any':
    case 'unknown':
      return 'anything';
    case 'object':
      return nearMissObject(schema, def.shape, hints);
    case 'union':
      return fc.oneof(
        // Two alternatives at once: a strict union must take neither.
        fc.tuple(...def.options.map((option) => validRaw(option, hints))).map((values) => mergeObjects(values)),
        ...def.options.flatMap((option) => invalidRaw(option, hints) ?? []),
      );
    case 'array': {
      const element = invalidRaw(def.element, hints);
      return element ? fc.array(element, { minLength: 1, maxLength: 3 }) : undefined;
    }
    case 'pipe':
      return invalidRaw(def.in, hints);
    default:
      return undefined;
  }
}

function invalidString(bounds: Bounds): fc.Arbitrary<unknown> {
  const choices: Array<fc.Arbitrary<unknown>> = [loneSurrogates];
  if (bounds.minLength > 0) choices.push(sizedString(fc.integer({ min: 0, max: bounds.minLength - 1 })));
  if (Number.isFinite(bounds.maxLength)) {
    const over = bounds.maxLength + 1;
    choices.push(sizedString(fc.integer({ min: over, max: over + 3 })));
    choices.push(sizedString(fc.integer({ min: over, max: over * 2 })));
  }
  if (bounds.pattern) choices.push(awkwardText);
  // Text of blanks only: a trimmed field with a minimum refuses it.
  choices.push(fc.constantFrom(' ', '\t\n', '\u00a0\u2003'));
  return fc.oneof(...choices);
}

function mergeObjects(values: unknown[]): unknown {
  const merged: Record<string, unknown> = {};
  for (const value of values) {
    if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) withKey(merged, k, v);
  }
  return merged;
}

/** Keys an object schema does not define: pollution keys, near-misses of its own, random ones. */
function extraKey(known: readonly string[]): fc.Arbitrary<string> {
  const choices: Array<fc.Arbitrary<string>> = [fc.constantFrom(...POLLUTION_KEYS), fc.string({ maxLength: 10 })];
  if (known.length > 0) {
    choices.push(
      fc
        .tuple(fc.constantFrom(...known), fc.constantFrom('upper', 'camel', 'space', 'zero-width'))
        .map(([key, how]) => {
          if (how === 'upper') return key.toUpperCase();
          if (how === 'camel')
            return key.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()) + (key.includes('_') ? '' : 'X');
          return how === 'space' ? `${key} ` : `${key}\u200b`;
        }),
    );
  }
  return fc.oneof(...choices).filter((key) => !known.includes(key));
}

type Mutation = (value: Record<string, unknown>) => Record<string, unknown>;

/** A valid object with one to three things wrong: a field's value, a required field gone, a field too many. */
function nearMissObject(
  schema: Schema,
  shape: Readonly<Record<string, Schema>>,
  hints: FieldHints,
): fc.Arbitrary<unknown> {
  const names = Object.keys(shape);
  const mutations: Array<fc.Arbitrary<Mutation>> = [
    fc.tuple(extraKey(names), junk).map(
      ([key, value]): Mutation =>
        (o) =>
          withKey(copyOwn(o), key, value) as Record<string, unknown>,
    ),
  ];
  for (const name of names) {
    const bad = invalidRaw(shape[name]!, hints);
    if (bad)
      mutations.push(
        bad.map(
          (value): Mutation =>
            (o) =>
              withKey(copyOwn(o), name, value) as Record<string, unknown>,
        ),
      );
  }
  const required = names.filter((name) => !mayBeAbsent(shape[name]!));
  if (required.length > 0) {
    mutations.push(
      fc.constantFrom(...required).map((name): Mutation => (o) => {
        const copy = copyOwn(o);
        delete copy[name];
        return copy;
      }),
    );
  }
  return fc
    .tuple(validRaw(schema, hints), fc.array(fc.oneof(...mutations), { minLength: 1, maxLength: 3 }))
    .map(([base, changes]) => changes.reduce((value, change) => change(value), copyOwn(base as object)));
}
