import type { ErrorCode } from './errors.js';

/**
 * The registry code a refused key is answered with, per decision. The API, the gateway and the SDK's
 * middleware all answer from this one table, so a refusal reads the same wherever the key was judged.
 */
export const KEY_REFUSALS: Record<string, ErrorCode> = {
  MALFORMED: 'KEY_MALFORMED',
  NOT_FOUND: 'KEY_INVALID',
  EXPIRED: 'KEY_EXPIRED',
  DISABLED: 'KEY_DISABLED',
  OWNER_DISABLED: 'KEY_DISABLED',
  API_GROUP_NOT_ALLOWED: 'API_GROUP_NOT_ALLOWED',
};
