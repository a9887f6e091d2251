/** How close a token is to its expiry, which decides the colour the lists show it in. */
export type ExpiryStatus = 'never' | 'ok' | 'soon' | 'expired';

/** Within this long of its expiry a token is shown as expiring soon. */
export const EXPIRING_SOON_MS = 7 * 24 * 3600e3;

/** A token's expiry status at `now`: no expiry, fine, within seven days, or past. */
export function expiryStatus(expiresAt: string | null, now: number = Date.now()): ExpiryStatus {
  if (expiresAt === null) return 'never';
  const left = new Date(expiresAt).getTime() - now;
  if (left <= 0) return 'expired';
  if (left <= EXPIRING_SOON_MS) return 'soon';
  return 'ok';
}
