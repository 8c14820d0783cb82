import fc from 'fast-check';
import { safeParse, type core } from 'zod';

/** Any zod schema, read through its definition (`_zod.def`, zod 4's documented hook for tools). */
export type Schema = core.$ZodType;

/** The definition of a first-party zod schema, discriminated by `type`. */
export type Def = core.$ZodTypes['_zod']['def'];

/** Reads a schema's definition. */
export const defOf = (schema: Schema): Def => (schema as core.$ZodTypes)._zod.def;

/** True when `schema` accepts `value` as the gateway would parse it. */
export const accepts = (schema: Schema, value: unknown): boolean => safeParse(schema, value).success;

/** The limits a string, number or array schema's checks put on a value. */
export interface Bounds {
  /** Numbers: the lowest and highest accepted (after exclusive bounds and integer formats). */
  min: number;
  max: number;
  integer: boolean;
  /** Strings and arrays: lengths (UTF-16 units for strings). */
  minLength: number;
  maxLength: number;
  /** A `regex` or other string format's pattern. */
  pattern?: RegExp;
}

/** The fields of a check definition that bounds read; zod's own check types each carry some of them. */
interface CheckDef {
  check: string;
  minimum?: number;
  maximum?: number;
  length?: number;
  value?: number | bigint;
  inclusive?: boolean;
  format?: string;
  pattern?: RegExp;
}

/** Integer formats zod's number checks know, as [min, max]. */
const INTEGER_FORMATS: Record<string, [number, number]> = {
  safeint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

/** Reads the bounds of a schema's checks; checks it cannot read (refinements) are left to the final parse. */
export function boundsOf(def: Def): Bounds {
  const bounds: Bounds = { min: -Infinity, max: Infinity, integer: false, minLength: 0, maxLength: Infinity };
  const exclusive = { min: false, max: false };
  for (const check of def.checks ?? []) {
    const c = check._zod.def as CheckDef;
    if (c.check === 'min_length' && c.minimum !== undefined) bounds.minLength = Math.max(bounds.minLength, c.minimum);
    if (c.check === 'max_length' && c.maximum !== undefined) bounds.maxLength = Math.min(bounds.maxLength, c.maximum);
    if (c.check === 'length_equals' && c.length !== undefined) bounds.minLength = bounds.maxLength = c.length;
    if (c.check === 'string_format' && c.pattern) bounds.pattern = c.pattern;
    if (c.check === 'greater_than' && Number(c.value) >= bounds.min) {
      bounds.min = Number(c.value);
      exclusive.min = !c.inclusive;
    }
    if (c.check === 'less_than' && Number(c.value) <= bounds.max) {
      bounds.max = Number(c.value);
      exclusive.max = !c.inclusive;
    }
    const format = c.check === 'number_format' && c.format ? INTEGER_FORMATS[c.format] : undefined;
    if (format) {
      bounds.integer = true;
      bounds.min = Math.max(bounds.min, format[0]);
      bounds.max = Math.min(bounds.max, format[1]);
    }
  }
  if (bounds.integer) {
    bounds.min = exclusive.min ? Math.floor(bounds.min) + 1 : Math.ceil(bounds.min);
    bounds.max = exclusive.max ? Math.ceil(bounds.max) - 1 : Math.floor(bounds.max);
  } else {
    if (exclusive.min) bounds.min = bounds.min + Math.max(Number.EPSILON, Math.abs(bounds.min) * Number.EPSILON);
    if (exclusive.max) bounds.max = bounds.max - Math.max(Number.EPSILON, Math.abs(bounds.max) * Number.EPSILON);
  }
  return bounds;
}

/** Integers from `min` to `max`, safe ones only, with both ends and the values around zero favoured. */
export function integerIn(min: number, max: number): fc.Arbitrary<number> {
  const lo = Math.max(min, Number.MIN_SAFE_INTEGER);
  const hi = Math.min(max, Number.MAX_SAFE_INTEGER);
  return fc.oneof(
    fc.constantFrom(lo, hi),
    fc.integer({ min: Math.max(lo, -(2 ** 31)), max: Math.min(hi, 2 ** 31 - 1) }),
    fc.bigInt({ min: BigInt(lo), max: BigInt(hi) }).map(Number),
  );
}

/** Numbers inside the bounds. */
export function numberIn(bounds: Bounds): fc.Arbitrary<number> {
  if (bounds.integer) return integerIn(bounds.min, bounds.max);
  return fc.double({
    noNaN: true,
    ...(Number.isFinite(bounds.min) ? { min: bounds.min } : {}),
    ...(Number.isFinite(bounds.max) ? { max: bounds.max } : {}),
  });
}

/** Numbers outside the bounds, or not integers where integers are wanted, or not finite (null on the wire). */
export function numberOutside(bounds: Bounds): fc.Arbitrary<unknown> {
  const outside: number[] = [NaN, Infinity, -Infinity, 1e308, -1e308];
  if (Number.isFinite(bounds.min)) outside.push(bounds.min - 1, bounds.min - 0.5, bounds.min - 1e-9);
  if (Number.isFinite(bounds.max)) outside.push(bounds.max + 1, bounds.max + 0.5, bounds.max * 2 + 1);
  if (bounds.integer) outside.push(Number.MAX_SAFE_INTEGER + 2, 2 ** 64, 0.5, -0.5);
  const choices: Array<fc.Arbitrary<unknown>> = [
    fc.constantFrom(...outside),
    // The same number, as text: a client that forgot to parse a field.
    numberIn(bounds).map(String),
  ];
  if (bounds.integer) choices.push(fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }));
  return fc.oneof(...choices);
}
