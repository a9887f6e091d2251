import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { ComboBox, Input, Label, ListBox, ListBoxItem, Popover, Button as AriaButton } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { SelectField } from '../../components/ui';
import { AuditList, type AuditFilter } from '../../features/audit/AuditList';
import { AUDIT_ACTION_GROUPS, AUDIT_ACTIONS, actionText } from '../../features/audit/auditWords';
import { type DateRange, DateRangeFields, rangeQuery } from '../../features/audit/DateRangeFields';

const ANY = 'any';

/** Picks who acted, by searching users by email or name (GET /users?q=). */
function ActorPicker({ value, onChange }: { value: string | null; onChange: (id: string | null) => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const users = useQuery({
    queryKey: ['users', { q: text, limit: 20 }],
    queryFn: () => unwrap(api.GET('/api/v1.0/users', { params: { query: { q: text || undefined, limit: 20 } } })),
  });
  return (
    <ComboBox
      className="field"
      items={users.data?.items ?? []}
      selectedKey={value}
      onSelectionChange={(key) => onChange(key === null ? null : String(key))}
      inputValue={text}
      onInputChange={(v) => {
        setText(v);
        if (v === '') onChange(null);
      }}
      menuTrigger="focus"
    >
      <Label>{t('audit.actor')}</Label>
      <div className="combo">
        <Input placeholder={t('audit.actorPlaceholder')} />
        <AriaButton className="combo-button" aria-label={t('audit.actorShow')}>
          <span aria-hidden="true">▾</span>
        </AriaButton>
      </div>
      <Popover className="popover">
        <ListBox className="listbox">
          {(u: { id: string; email: string; name: string }) => (
            <ListBoxItem id={u.id} textValue={u.email} className="listbox-item">
              <span>{u.email}</span>
              {u.name !== u.email && <small>{u.name}</small>}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </ComboBox>
  );
}

/** The whole audit trail (system administrators), filtered by action, actor and time. */
export default function AuditPage() {
  const { t } = useTranslation();
  const [action, setAction] = useState<string>(ANY);
  const [actorId, setActorId] = useState<string | null>(null);
  const [range, setRange] = useState<DateRange>({ from: null, to: null });
  const actions = [
    { id: ANY, label: t('audit.anyAction') },
    ...AUDIT_ACTION_GROUPS.map((g) => ({ id: g, label: t(`audit.group.${g.slice(0, -1)}`) })),
    ...AUDIT_ACTIONS.map((a) => ({ id: a, label: actionText(t, a) })),
  ];
  const filter: AuditFilter = {
    ...(action !== ANY ? { action } : {}),
    ...(actorId ? { actorId } : {}),
    ...rangeQuery(range),
  };
  const exportQuery = new URLSearchParams(filter as Record<string, string>);
  return (
    <section aria-labelledby="audit-title">
      <div className="page-header">
        <h2 id="audit-title">{t('app.adminAudit')}</h2>
        <div className="button-row">
          {(['csv', 'ndjson'] as const).map((format) => (
            <a
              key={format}
              className="btn btn-quiet"
              href={`/api/v1.0/logs/audit/export?${new URLSearchParams({ ...Object.fromEntries(exportQuery), format })}`}
              download
            >
              {t('audit.export', { format: format.toUpperCase() })}
            </a>
          ))}
        </div>
      </div>
      <search className="toolbar" aria-label={t('audit.filters')}>
        <SelectField label={t('audit.actionFilter')} choices={actions} value={action} onChange={setAction} />
        <ActorPicker value={actorId} onChange={setActorId} />
        <DateRangeFields value={range} onChange={setRange} />
      </search>
      <AuditList filter={filter} />
    </section>
  );
}
