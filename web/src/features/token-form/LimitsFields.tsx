import { useEffect, useRef, useState } from 'react';
import {
  Button as AriaButton,
  TextField as AriaTextField,
  Checkbox,
  Disclosure,
  DisclosurePanel,
  FieldError,
  Label,
  Radio,
  RadioGroup,
  Text,
  TextArea,
} from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { SelectField, TextField } from '../../components/ui';
import {
  allowlistLines,
  checkWhole,
  type DurationUnit,
  INTERVAL_UNITS,
  type LimitsDraft,
  type RateMode,
  WINDOW_UNITS,
} from './limits';

/** The names the API gives the limit fields in its refusals, as the Limits section names its fields. */
export const LIMIT_FIELDS = [
  'rateLimit',
  'rateLimit.limit',
  'rateLimit.window',
  'rateLimit.per',
  'credits',
  'credits.remaining',
  'credits.refill.amount',
  'credits.refill.interval',
  'ipAllowlist',
] as const;

const MAX_ALLOWLIST = 100;

/** How many of the three limits the draft sets, for the section's closed summary. */
function limitsSet(draft: LimitsDraft): number {
  return (
    Number(draft.rateMode !== 'default') + Number(draft.credits) + Number(allowlistLines(draft.ipAllowlist).length > 0)
  );
}

/**
 * The optional Limits section of the token form, closed until opened: rate limit, credits and IP
 * allowlist. It opens by itself when one of its fields is refused, by the client checks or the server.
 */
export function LimitsFields({
  draft,
  set,
  errors,
}: {
  draft: LimitsDraft;
  set: (patch: Partial<LimitsDraft>) => void;
  /** The form's server refusals by field, to open the section when one is about a limit. */
  errors: Record<string, string>;
}) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const refused = Object.keys(errors).some((f) => (LIMIT_FIELDS as readonly string[]).includes(f));
  const panel = useRef<HTMLDivElement>(null);
  // A client check failing inside the closed section would block the form with nothing to see:
  // an invalid field in it opens it (the event does not bubble, so it is caught on the way down).
  useEffect(() => {
    const node = panel.current;
    if (!node) return;
    const onInvalid = () => setOpen(true);
    node.addEventListener('invalid', onInvalid, true);
    return () => node.removeEventListener('invalid', onInvalid, true);
  }, []);
  // A refused limit is shown where it is, focused, rather than below the fold of a long form.
  useEffect(() => {
    if (!refused) return;
    const invalid = panel.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    invalid?.scrollIntoView({ block: 'center' });
    invalid?.focus();
  }, [refused]);
  const count = limitsSet(draft);
  const units = (list: readonly DurationUnit[]) => list.map((u) => ({ id: u, label: t(`limits.units.${u}`) }));

  return (
    <div ref={panel}>
      <Disclosure className="limits" isExpanded={open || refused} onExpandedChange={setOpen}>
        <AriaButton slot="trigger" className="limits-trigger">
          <span aria-hidden="true" className="limits-chevron">
            ▸
          </span>
          <span className="limits-title">{t('limits.title')}</span>
          <span className="limits-count">{count ? t('limits.setCount', { count }) : t('limits.noneSet')}</span>
        </AriaButton>
        <DisclosurePanel className="limits-panel">
          <p className="form-intro">{t('limits.intro')}</p>
          <fieldset className="token-fieldset">
            <legend>{t('limits.rateLimit')}</legend>
            <RadioGroup
              className="field"
              name="rateLimit"
              aria-label={t('limits.rateLimit')}
              value={draft.rateMode}
              onChange={(v) => set({ rateMode: v as RateMode })}
            >
              <div className="group-list">
                {(['default', 'unlimited', 'custom'] as const).map((m) => (
                  <Radio key={m} value={m} className="radio">
                    <span className="dot" aria-hidden="true" />
                    <span>
                      {t(`limits.rateModes.${m}`)}
                      <small className="option-hint">{t(`limits.rateHints.${m}`)}</small>
                    </span>
                  </Radio>
                ))}
              </div>
              <FieldError className="field-error" />
            </RadioGroup>
            {draft.rateMode === 'custom' && (
              <>
                <div className="limit-row">
                  <TextField
                    label={t('limits.requests')}
                    name="rateLimit.limit"
                    inputMode="numeric"
                    value={draft.rateLimit}
                    onChange={(rateLimit) => set({ rateLimit })}
                    validate={(v) => checkWhole(t, v, 1)}
                  />
                  <TextField
                    label={t('limits.every')}
                    name="rateLimit.window"
                    inputMode="numeric"
                    value={draft.rateWindow}
                    onChange={(rateWindow) => set({ rateWindow })}
                    validate={(v) => checkWhole(t, v, 1)}
                  />
                  <SelectField
                    label={t('limits.windowUnit')}
                    value={draft.rateUnit}
                    onChange={(u) => set({ rateUnit: u as DurationUnit })}
                    choices={units(WINDOW_UNITS)}
                  />
                </div>
                <RadioGroup
                  className="field"
                  name="rateLimit.per"
                  value={draft.ratePer}
                  onChange={(v) => set({ ratePer: v as LimitsDraft['ratePer'] })}
                  orientation="horizontal"
                >
                  <Label className="field-label">{t('limits.per')}</Label>
                  <div className="radio-row">
                    {(['token', 'owner'] as const).map((p) => (
                      <Radio key={p} value={p} className="radio">
                        <span className="dot" aria-hidden="true" />
                        {t(`limits.perModes.${p}`)}
                      </Radio>
                    ))}
                  </div>
                  <FieldError className="field-error" />
                </RadioGroup>
              </>
            )}
          </fieldset>

          <fieldset className="token-fieldset">
            <legend>{t('limits.credits')}</legend>
            <RadioGroup
              className="field"
              name="credits"
              aria-label={t('limits.credits')}
              value={draft.credits ? 'on' : 'off'}
              onChange={(v) => set({ credits: v === 'on' })}
              orientation="horizontal"
            >
              <div className="radio-row">
                {(['off', 'on'] as const).map((m) => (
                  <Radio key={m} value={m} className="radio">
                    <span className="dot" aria-hidden="true" />
                    {t(`limits.creditModes.${m}`)}
                  </Radio>
                ))}
              </div>
              <FieldError className="field-error" />
            </RadioGroup>
            {draft.credits && (
              <>
                <div className="narrow-input">
                  <TextField
                    label={t('limits.remaining')}
                    name="credits.remaining"
                    inputMode="numeric"
                    value={draft.creditsRemaining}
                    onChange={(creditsRemaining) => set({ creditsRemaining })}
                    validate={(v) => checkWhole(t, v, 0)}
                    description={t('limits.remainingHint')}
                  />
                </div>
                <Checkbox className="checkbox" isSelected={draft.refill} onChange={(refill) => set({ refill })}>
                  <span className="box" aria-hidden="true" />
                  {t('limits.refill')}
                </Checkbox>
                {draft.refill && (
                  <div className="limit-row">
                    <TextField
                      label={t('limits.refillAmount')}
                      name="credits.refill.amount"
                      inputMode="numeric"
                      value={draft.refillAmount}
                      onChange={(refillAmount) => set({ refillAmount })}
                      validate={(v) => checkWhole(t, v, 1)}
                    />
                    <TextField
                      label={t('limits.every')}
                      name="credits.refill.interval"
                      inputMode="numeric"
                      value={draft.refillInterval}
                      onChange={(refillInterval) => set({ refillInterval })}
                      validate={(v) => checkWhole(t, v, 1)}
                    />
                    <SelectField
                      label={t('limits.intervalUnit')}
                      value={draft.refillUnit}
                      onChange={(u) => set({ refillUnit: u as DurationUnit })}
                      choices={units(INTERVAL_UNITS)}
                    />
                  </div>
                )}
              </>
            )}
          </fieldset>

          <AriaTextField
            className="field"
            name="ipAllowlist"
            value={draft.ipAllowlist}
            onChange={(ipAllowlist) => set({ ipAllowlist })}
            validate={(v) => {
              const lines = allowlistLines(v);
              if (lines.length > MAX_ALLOWLIST) return t('limits.tooManyLines', { max: MAX_ALLOWLIST });
              if (lines.some((l) => l.length > 64)) return t('limits.lineTooLong');
              return null;
            }}
          >
            <Label className="field-label">{t('limits.ipAllowlist')}</Label>
            <TextArea rows={4} spellCheck={false} autoComplete="off" className="allowlist-input" />
            <Text slot="description">{t('limits.ipAllowlistHint')}</Text>
            <FieldError />
          </AriaTextField>
        </DisclosurePanel>
      </Disclosure>
    </div>
  );
}
