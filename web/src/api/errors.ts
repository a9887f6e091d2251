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

/** What is wrong with a field the API refused, when the console can say it better than "not valid". */
function fieldErrorText(t: TFunction, error: unknown, field: string | undefined): string | null {
  if (!(error instanceof ApiError) || error.code !== 'VALIDATION_FAILED' || !field) return null;
  return t(`errors.invalidField.${field.replaceAll('.', '-')}`, { defaultValue: '' }) || null;
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
  const named = error instanceof ApiError ? error.field : undefined;
  // The most precise field the form has: rateLimit.limit itself, else rateLimit, else the form.
  const parts = named?.split('.') ?? [];
  const field = parts.map((_, i) => parts.slice(0, parts.length - i).join('.')).find((f) => fields.includes(f));
  const text = fieldErrorText(t, error, named) ?? errorText(t, error);
  if (field) return { validationErrors: { [field]: text }, formError: null };
  return { validationErrors: {}, formError: text };
}
