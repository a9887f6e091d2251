import type { TFunction } from 'i18next';
import { ApiError } from './client';

/** What to tell the user about a failed call, in their language: by the error's code, else its message. */
export function errorText(t: TFunction, error: unknown): string {
  if (error instanceof ApiError) {
    const key = `errors.${error.code}`;
    return t(key, { defaultValue: error.message });
  }
  if (error instanceof TypeError) return t('errors.network'); // fetch's "Failed to fetch"
  return t('errors.generic');
}

/**
 * An API refusal split for a form: the message to show next to the field the API named (React Aria's
 * Form `validationErrors`, keyed by field name), or for the form as a whole when no field is named
 * or the form has no such field.
 */
export function formErrors(
  t: TFunction,
  error: unknown,
  fields: readonly string[],
): { validationErrors: Record<string, string>; formError: string | null } {
  if (!error) return { validationErrors: {}, formError: null };
  const text = errorText(t, error);
  const field = error instanceof ApiError ? error.field?.split('.')[0] : undefined;
  if (field && fields.includes(field)) return { validationErrors: { [field]: text }, formError: null };
  return { validationErrors: {}, formError: text };
}
