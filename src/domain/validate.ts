import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import type { TLocalizedValidationError } from 'typebox/error';
import { fail } from './errors.js';

/**
 * Input checking shared by every door (HTTP, CLI, console, gateway, the configuration file): the
 * same TypeBox schemas the API publishes, compiled once each, so one limit holds everywhere.
 */

/** The first thing wrong with a value: the field (a dotted path, `''` for the whole) and a phrase saying what. */
export interface Problem {
  field: string;
  message: string;
}

// Compiled on first use and kept per schema object: compiling is the costly part, checking is cheap.
const compiled = new WeakMap<TSchema, Validator>();

function validatorFor(schema: TSchema): Validator {
  let v = compiled.get(schema);
  if (!v) {
    v = Compile(schema) as unknown as Validator;
    compiled.set(schema, v);
  }
  return v;
}

const join = (...parts: (string | undefined)[]) => parts.filter((p) => p !== undefined && p !== '').join('.');
const pathOf = (e: TLocalizedValidationError) =>
  e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');

/** Turns the validator's errors into one sentence a person can act on, about the first field at fault. */
function describe(errors: TLocalizedValidationError[]): Problem {
  const first = errors[0];
  if (!first) return { field: '', message: 'is not valid' };
  const field = pathOf(first);
  // A key of a map (`propertyNames`) is reported at its own path; say it is the name that is wrong.
  if (first.schemaPath.endsWith('/propertyNames'))
    return { field, message: `is not an allowed name: it ${first.message}` };
  switch (first.keyword) {
    case 'required': {
      const missing = (first.params as { requiredProperties: string[] }).requiredProperties[0];
      return { field: join(field, missing), message: 'is required' };
    }
    // An unknown property: `additionalProperties: false` reports it as a `false` schema at its path.
    case 'boolean':
      return { field, message: 'is not a known field' };
    case 'additionalProperties': {
      const extra = (first.params as { additionalProperties: string[] }).additionalProperties[0];
      return { field: join(field, extra), message: 'is not a known field' };
    }
    case 'enum': {
      const allowed = (first.params as { allowedValues: unknown[] }).allowedValues;
      return { field, message: `must be one of ${allowed.map(String).join(', ')}` };
    }
  }
  // A union reports each branch before the union itself; name the branches' types together.
  const union = errors.find((e) => e.keyword === 'anyOf' && e.instancePath === first.instancePath);
  if (union) {
    const types = errors
      .filter((e) => e.keyword === 'type' && e.instancePath === first.instancePath)
      .map((e) => String((e.params as { type: unknown }).type));
    return { field, message: types.length > 0 ? `must be ${types.join(' or ')}` : 'has the wrong type' };
  }
  return { field, message: first.message };
}

/** The first problem with `value` under `schema`, or null when it conforms. Fields left `undefined` count as absent. */
export function firstProblem(schema: TSchema, value: unknown): Problem | null {
  const v = validatorFor(schema);
  return v.Check(value) ? null : describe(v.Errors(value));
}

/**
 * Refuses a value that does not match the schema with VALIDATION_FAILED naming the field, e.g.
 * `validate(TokenCreate, input)` → "name must not have more than 200 characters" (field `name`).
 */
export function validate(schema: TSchema, value: unknown): void {
  const problem = firstProblem(schema, value);
  if (problem) {
    const subject = problem.field || 'the input';
    fail('VALIDATION_FAILED', `${subject} ${problem.message}.`, problem.field || undefined);
  }
}
