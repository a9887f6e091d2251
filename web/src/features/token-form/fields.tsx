import type { CalendarDate } from '@internationalized/date';
import {
  Button as AriaButton,
  Calendar,
  CalendarCell,
  CalendarGrid,
  Checkbox,
  CheckboxGroup,
  DateInput,
  DatePicker,
  DateSegment,
  Dialog,
  FieldError,
  Group,
  Heading,
  Label,
  Popover,
  Radio,
  RadioGroup,
  Text,
} from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import type { Schemas } from '../../api/client';
import { SelectField, TextField } from '../../components/ui';
import { useFormat } from '../../format';
import type { Model } from '../../model';
import {
  accessOf,
  dateRange,
  dateToExpiresAt,
  type ExpiryChoice,
  expiryChoices,
  gridAreas,
  withAccess,
} from './access';
import { LIMIT_FIELDS } from './LimitsFields';
import { type LimitsDraft, limitLines, limitsBody } from './limits';
import './token-form.css';

type Logging = Schemas['Token']['logging'];

/** Everything the token form holds while it is filled in; create and edit share it. */
export interface TokenDraft {
  name: string;
  description: string;
  /** A level bundles permissions; "custom" picks them one by one. */
  mode: 'level' | 'custom';
  level: string;
  permissions: string[];
  expiry: ExpiryChoice;
  expiryDate: CalendarDate | null;
  apiGroups: string[];
  logging: Logging;
  impersonate: string;
  key: string;
  limits: LimitsDraft;
}

/** The names the API gives fields in its refusals, as the form's fields are named. */
export const TOKEN_FIELDS = [
  'name',
  'description',
  'level',
  'permissions',
  'apiGroups',
  'expiresAt',
  'expiresIn',
  'logging',
  'impersonate',
  'key',
  ...LIMIT_FIELDS,
] as const;

/** The expiry part of a request body: a preset, a date, or nothing when it stays as it is. */
export function expiryBody(draft: TokenDraft): {
  expiresIn?: Exclude<ExpiryChoice, 'date' | 'keep'>;
  expiresAt?: string;
} {
  if (draft.expiry === 'keep') return {};
  if (draft.expiry === 'date') return draft.expiryDate ? { expiresAt: dateToExpiresAt(draft.expiryDate) } : {};
  return { expiresIn: draft.expiry };
}

/** The rights part of a request body: a level, or exactly the permissions picked. */
export function rightsBody(draft: TokenDraft): { level: string } | { permissions: string[] } {
  return draft.mode === 'level' ? { level: draft.level } : { permissions: draft.permissions };
}

type Set = (patch: Partial<TokenDraft>) => void;

/** Name and description. */
export function NameFields({ draft, set }: { draft: TokenDraft; set: Set }) {
  const { t } = useTranslation();
  return (
    <>
      <TextField
        label={t('tokenForm.name')}
        name="name"
        isRequired
        autoFocus
        value={draft.name}
        onChange={(name) => set({ name })}
        description={t('tokenForm.nameHint')}
      />
      <TextField
        label={t('tokenForm.description')}
        name="description"
        value={draft.description}
        onChange={(description) => set({ description })}
      />
    </>
  );
}

/** The token's rights: a permission level with what it holds, or a fine-grained pick (grid and list). */
export function RightsFields({ model, draft, set }: { model: Model; draft: TokenDraft; set: Set }) {
  const { t } = useTranslation();
  const level = model.levels.find((l) => l.name === draft.level);
  return (
    <fieldset className="token-fieldset">
      <legend>{t('tokenForm.rights')}</legend>
      <RadioGroup
        className="field"
        value={draft.mode}
        onChange={(mode) =>
          set(
            mode === 'custom'
              ? { mode, permissions: draft.permissions.length ? draft.permissions : (level?.permissions ?? []) }
              : { mode: 'level' },
          )
        }
        aria-label={t('tokenForm.rights')}
        orientation="horizontal"
      >
        <div className="radio-row">
          <Radio value="level" className="radio">
            <span className="dot" aria-hidden="true" />
            {t('tokenForm.byLevel')}
          </Radio>
          <Radio value="custom" className="radio">
            <span className="dot" aria-hidden="true" />
            {t('tokenForm.byPermission')}
          </Radio>
        </div>
      </RadioGroup>
      {draft.mode === 'level' ? (
        <>
          <SelectField
            label={t('tokenForm.level')}
            name="level"
            value={draft.level}
            onChange={(l) => set({ level: l })}
            choices={model.levels.map((l) => ({
              id: l.name,
              label: t(`tokenForm.levels.${l.name}`, { defaultValue: l.name }),
            }))}
          />
          {level && (
            <div className="level-permissions">
              <p id="level-permissions-title">{t('tokenForm.levelHolds')}</p>
              <ul aria-labelledby="level-permissions-title">
                {level.permissions.map((p) => (
                  <li key={p}>
                    <code>{p}</code> — {model.permissions.find((m) => m.name === p)?.description}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </>
      ) : (
        <PermissionPicker model={model} value={draft.permissions} onChange={(permissions) => set({ permissions })} />
      )}
    </fieldset>
  );
}

/** Fine-grained permissions: a none/read/write grid per area, and every permission as a checkbox. */
export function PermissionPicker({
  model,
  value,
  onChange,
}: {
  model: Pick<Model, 'permissions'>;
  value: string[];
  onChange: (permissions: string[]) => void;
}) {
  const { t } = useTranslation();
  const rows = gridAreas(model.permissions.map((p) => p.name));
  return (
    <>
      <fieldset className="permission-grid">
        <legend className="field-label">{t('tokenForm.grid')}</legend>
        {rows.map((row) => (
          <RadioGroup
            key={row.area}
            className="grid-row"
            orientation="horizontal"
            value={accessOf(row, value)}
            onChange={(access) => onChange(withAccess(row, value, access as 'none' | 'read' | 'write'))}
          >
            <Label className="grid-area">{t(`tokenForm.areas.${row.area}`, { defaultValue: row.area })}</Label>
            <div className="radio-row">
              {(['none', 'read', 'write'] as const)
                .filter((a) => a === 'none' || (a === 'read' ? row.read : row.write))
                .map((a) => (
                  <Radio key={a} value={a} className="radio">
                    <span className="dot" aria-hidden="true" />
                    {t(`tokenForm.access.${a}`)}
                  </Radio>
                ))}
            </div>
          </RadioGroup>
        ))}
      </fieldset>
      <CheckboxGroup className="field" name="permissions" value={value} onChange={onChange}>
        <Label className="field-label">{t('tokenForm.permissions')}</Label>
        <div className="group-list">
          {model.permissions.map((p) => (
            <Checkbox key={p.name} value={p.name} className="checkbox">
              <span className="box" aria-hidden="true" />
              <span>
                <code>{p.name}</code>
                <small className="option-hint">{p.description}</small>
              </span>
            </Checkbox>
          ))}
        </div>
        <FieldError className="field-error" />
      </CheckboxGroup>
    </>
  );
}

/** When the token stops working: only what the policy allows, or a day picked in the calendar. */
export function ExpiryField({
  policy,
  value,
  date,
  onChange,
  current,
}: {
  policy: Pick<Model['policy'], 'expiresIn' | 'maxLifetimeDays'>;
  value: ExpiryChoice;
  date: CalendarDate | null;
  onChange: (patch: { expiry?: ExpiryChoice; expiryDate?: CalendarDate | null }) => void;
  /** When editing: the expiry the token has now, offered as "keep". */
  current?: string;
}) {
  const { t } = useTranslation();
  const choices: ExpiryChoice[] = [...(current !== undefined ? (['keep'] as const) : []), ...expiryChoices(policy)];
  const { minValue, maxValue } = dateRange(policy.maxLifetimeDays);
  return (
    <>
      <RadioGroup
        className="field"
        name="expiresIn"
        value={value}
        onChange={(v) => onChange({ expiry: v as ExpiryChoice })}
      >
        <Label className="field-label">{t('tokenForm.expiry')}</Label>
        <div className="radio-row">
          {choices.map((c) => (
            <Radio key={c} value={c} className="radio">
              <span className="dot" aria-hidden="true" />
              {c === 'keep' ? t('tokenForm.expiryKeep', { current }) : t(`tokenForm.expiresIn.${c}`)}
            </Radio>
          ))}
        </div>
        {policy.maxLifetimeDays !== null && (
          <Text slot="description">{t('tokenForm.maxLifetime', { count: policy.maxLifetimeDays })}</Text>
        )}
        <FieldError className="field-error" />
      </RadioGroup>
      {value === 'date' && (
        <DatePicker
          className="field"
          name="expiresAt"
          value={date}
          onChange={(d) => onChange({ expiryDate: d })}
          minValue={minValue}
          maxValue={maxValue}
          isRequired
        >
          <Label className="field-label">{t('tokenForm.expiryDate')}</Label>
          <Group className="date-group">
            <DateInput className="date-input">
              {(segment) => <DateSegment segment={segment} className="date-segment" />}
            </DateInput>
            <AriaButton className="btn btn-quiet" aria-label={t('tokenForm.openCalendar')}>
              ▾
            </AriaButton>
          </Group>
          <FieldError className="field-error" />
          <Popover className="popover">
            <Dialog className="calendar-dialog" aria-label={t('tokenForm.expiryDate')}>
              <Calendar className="calendar">
                <header className="calendar-header">
                  <AriaButton slot="previous" className="btn btn-quiet" aria-label={t('tokenForm.previousMonth')}>
                    ◀
                  </AriaButton>
                  <Heading />
                  <AriaButton slot="next" className="btn btn-quiet" aria-label={t('tokenForm.nextMonth')}>
                    ▶
                  </AriaButton>
                </header>
                <CalendarGrid>{(d) => <CalendarCell date={d} className="calendar-cell" />}</CalendarGrid>
              </Calendar>
            </Dialog>
          </Popover>
        </DatePicker>
      )}
    </>
  );
}

/** Which API groups the token may call, with what each covers; native means everything. */
export function ApiGroupsField({
  groups,
  value,
  onChange,
}: {
  groups: Model['apiGroups'];
  value: string[];
  onChange: (v: string[]) => void;
}) {
  const { t } = useTranslation();
  return (
    <CheckboxGroup className="field" name="apiGroups" value={value} onChange={onChange} isRequired>
      <Label className="field-label">{t('tokenForm.apiGroups')}</Label>
      <Text slot="description">{t('tokenForm.apiGroupsHint')}</Text>
      <div className="group-list">
        {groups.map((g) => (
          <Checkbox key={g.name} value={g.name} className="checkbox">
            <span className="box" aria-hidden="true" />
            <span>
              <code>{g.name}</code>
              <small className="option-hint">{g.description}</small>
            </span>
          </Checkbox>
        ))}
      </div>
      <FieldError className="field-error" />
    </CheckboxGroup>
  );
}

/** What the access log keeps of each request made with the token, each mode explained. */
export function LoggingField({
  modes,
  value,
  onChange,
}: {
  modes: Model['policy']['logging'];
  value: Logging;
  onChange: (v: Logging) => void;
}) {
  const { t } = useTranslation();
  return (
    <RadioGroup className="field" name="logging" value={value} onChange={(v) => onChange(v as Logging)}>
      <Label className="field-label">{t('tokenForm.logging')}</Label>
      <div className="group-list">
        {modes.map((m) => (
          <Radio key={m} value={m} className="radio">
            <span className="dot" aria-hidden="true" />
            <span>
              {t(`tokenForm.loggingModes.${m}`)}
              <small className="option-hint">{t(`tokenForm.loggingHints.${m}`)}</small>
            </span>
          </Radio>
        ))}
      </div>
      <FieldError className="field-error" />
    </RadioGroup>
  );
}

/** For system administrators: act as another user, and choose the key value when the policy allows. */
export function AdminFields({
  customKeys,
  draft,
  set,
}: {
  customKeys: Model['policy']['customKeys'];
  draft: TokenDraft;
  set: Set;
}) {
  const { t } = useTranslation();
  return (
    <fieldset className="token-fieldset">
      <legend>{t('tokenForm.adminOnly')}</legend>
      <TextField
        label={t('tokenForm.impersonate')}
        name="impersonate"
        type="email"
        value={draft.impersonate}
        onChange={(impersonate) => set({ impersonate })}
        description={t('tokenForm.impersonateHint')}
      />
      {customKeys.allowed && (
        <TextField
          label={t('tokenForm.key')}
          name="key"
          value={draft.key}
          onChange={(key) => set({ key })}
          autoComplete="off"
          description={t('tokenForm.keyHint', { count: customKeys.minLength })}
        />
      )}
    </fieldset>
  );
}

/** Everything chosen, to read over before the token is added or saved. */
export function DraftSummary({ model, draft, isAdmin }: { model: Model; draft: TokenDraft; isAdmin: boolean }) {
  const { t } = useTranslation();
  const level = model.levels.find((l) => l.name === draft.level);
  const permissions = draft.mode === 'level' ? (level?.permissions ?? []) : draft.permissions;
  return (
    <dl className="details token-summary">
      <dt>{t('tokenForm.name')}</dt>
      <dd>{draft.name}</dd>
      <dt>{t('tokenForm.description')}</dt>
      <dd>{draft.description || t('common.none')}</dd>
      <dt>{draft.mode === 'level' ? t('tokenForm.level') : t('tokenForm.permissions')}</dt>
      <dd>
        {draft.mode === 'level' && (
          <strong>{t(`tokenForm.levels.${draft.level}`, { defaultValue: draft.level })}: </strong>
        )}
        {permissions.length ? permissions.join(', ') : t('common.none')}
      </dd>
      <dt>{t('tokenForm.expiry')}</dt>
      <dd>
        <ExpirySummary draft={draft} />
      </dd>
      <dt>{t('tokenForm.apiGroups')}</dt>
      <dd>{draft.apiGroups.join(', ')}</dd>
      <dt>{t('tokenForm.logging')}</dt>
      <dd>{t(`tokenForm.loggingModes.${draft.logging}`)}</dd>
      <LimitsSummary draft={draft.limits} />
      {isAdmin && draft.impersonate && (
        <>
          <dt>{t('tokenForm.impersonate')}</dt>
          <dd>{draft.impersonate}</dd>
        </>
      )}
      {isAdmin && draft.key && (
        <>
          <dt>{t('tokenForm.key')}</dt>
          <dd>{t('tokenForm.keyChosen', { count: draft.key.length })}</dd>
        </>
      )}
    </dl>
  );
}

/** The limits chosen, as the token page will show them; nothing for the ones not set. */
function LimitsSummary({ draft }: { draft: LimitsDraft }) {
  const { t, i18n } = useTranslation();
  const format = useFormat();
  const lines = limitLines(t, format, i18n.resolvedLanguage ?? 'en', limitsBody(draft));
  return (
    <>
      {lines.rate && (
        <>
          <dt>{t('limits.rateLimit')}</dt>
          <dd>{lines.rate}</dd>
        </>
      )}
      {lines.credits && (
        <>
          <dt>{t('limits.credits')}</dt>
          <dd>{lines.credits}</dd>
        </>
      )}
      {lines.ipAllowlist && (
        <>
          <dt>{t('limits.ipAllowlist')}</dt>
          <dd>{limitsBody(draft).ipAllowlist?.join(', ')}</dd>
        </>
      )}
    </>
  );
}

function ExpirySummary({ draft }: { draft: TokenDraft }) {
  const { t } = useTranslation();
  const format = useFormat();
  if (draft.expiry === 'keep') return <>{t('tokenForm.unchanged')}</>;
  if (draft.expiry === 'date')
    return draft.expiryDate ? format.date(dateToExpiresAt(draft.expiryDate)) : t('common.none');
  if (draft.expiry === 'never') return <>{t('tokenForm.expiresIn.never')}</>;
  return (
    <>
      {t('tokenForm.expiresInUntil', {
        preset: t(`tokenForm.expiresIn.${draft.expiry}`),
        date: format.date(presetEnd(draft.expiry)),
      })}
    </>
  );
}

const PRESET_DAYS = { '30d': 30, '90d': 90, '1y': 365, '2y': 730 } as const;

/** Roughly when a preset ends, for the summary; the server fixes the exact moment. */
function presetEnd(preset: keyof typeof PRESET_DAYS): Date {
  return new Date(Date.now() + PRESET_DAYS[preset] * 24 * 3600e3);
}
