/**
 * The one spelling of an email address that keygate stores, looks up and counts failed sign-ins by:
 * trimmed and lower-cased. Anything that keys on an address uses it, so `Ops@Example.com ` and
 * `ops@example.com` are one account everywhere — in the store and in the sign-in throttle alike.
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
