import { Switch } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { SelectField } from '../../components/ui';
import { EXPIRING_SOON_MS } from './expiry';
import type { TokenQuery } from './queries';

export type StateFilter = 'all' | 'active' | 'inactive' | 'expired';

/** A token's state to filter by, as a Select ("all" or one state). */
export function StateSelect({ value, onChange }: { value: StateFilter; onChange: (v: StateFilter) => void }) {
  const { t } = useTranslation();
  const choices = (['all', 'active', 'inactive', 'expired'] as const).map((id) => ({
    id,
    label: id === 'all' ? t('tokens.filters.allStates') : t(`tokens.state.${id}`),
  }));
  return (
    <SelectField
      label={t('tokens.filters.state')}
      choices={choices}
      value={value}
      onChange={(v) => onChange(v as StateFilter)}
    />
  );
}

/** The "expiring soon" switch: only tokens that expire within seven days. */
export function ExpiringSoonSwitch({ value, onChange }: { value: boolean; onChange: (v: boolean) => void }) {
  const { t } = useTranslation();
  return (
    <Switch className="switch" isSelected={value} onChange={onChange}>
      <span className="track" aria-hidden="true" />
      {t('tokens.filters.expiringSoon')}
    </Switch>
  );
}

/**
 * The API query for a state and "expiring soon" (between `now` and seven days on). `now` is fixed by
 * the caller when the filter is chosen, so the query key does not change on every render.
 */
export function stateExpiryQuery(state: StateFilter, expiringSoon: boolean, now: number): TokenQuery {
  const query: TokenQuery = {};
  if (state !== 'all') query.state = state;
  if (expiringSoon) {
    query.expiresAfter = new Date(now).toISOString();
    query.expiresBefore = new Date(now + EXPIRING_SOON_MS).toISOString();
  }
  return query;
}
