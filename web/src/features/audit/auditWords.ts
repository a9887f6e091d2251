import type { TFunction } from 'i18next';

/** Every action keygate records in the audit trail (src/services), in the order the filters offer them. */
export const AUDIT_ACTIONS = [
  'token.create',
  'token.update',
  'token.activate',
  'token.deactivate',
  'token.roll',
  'token.reveal',
  'token.delete',
  'membership.add',
  'membership.update',
  'membership.remove',
  'resource.create',
  'resource.update',
  'resource.delete',
  'user.create',
  'user.update',
  'user.disable',
  'user.enable',
  'session.create',
  'session.fail',
  'session.delete',
] as const;

/** The groups of actions the API filters by prefix ("token." …). */
export const AUDIT_ACTION_GROUPS = ['token.', 'membership.', 'resource.', 'user.', 'session.'] as const;

/** An action in words ("Token created"); one keygate adds later shows as its code until it is translated. */
export function actionText(t: TFunction, action: string): string {
  return t(`audit.action.${action.replace('.', '_')}`, { defaultValue: action });
}
