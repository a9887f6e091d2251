/**
 * The class name of a registry code: `KEY_INVALID` → `KeyInvalidError`. Shared by the generator and
 * the tests, so the names follow one rule.
 * @example
 * errorClassName('INSUFFICIENT_PERMISSIONS'); // 'InsufficientPermissionsError'
 */
export function errorClassName(code: string): string {
  return `${code
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('')}Error`;
}
