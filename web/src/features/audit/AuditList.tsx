import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Disclosure, DisclosurePanel } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, type Schemas, unwrap } from '../../api/client';
import { Button, ErrorMessage, LoadMore, Loading } from '../../components/ui';
import { useFormat } from '../../format';
import { useMe } from '../../session';
import { actionText } from './auditWords';
import './audit.css';

type AuditPage = Awaited<ReturnType<typeof fetchAudit>>;
export type AuditRecord = AuditPage['items'][number];

export interface AuditFilter {
  targetId?: string;
  actorId?: string;
  resourceId?: string;
  action?: string;
  from?: string;
  to?: string;
}

const PAGE_SIZE = 25;

function fetchAudit(filter: AuditFilter, cursor: string | undefined, limit: number) {
  return unwrap(api.GET('/api/v1.0/logs/audit', { params: { query: { ...filter, limit, cursor } } }));
}

type Details = Record<string, unknown>;

function asDetails(details: unknown): Details {
  return details !== null && typeof details === 'object' && !Array.isArray(details) ? (details as Details) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A user's name for who acted: oneself by name, others looked up when the viewer may (administrators). */
function UserName({ id }: { id: string }) {
  const { t } = useTranslation();
  const me = useMe().data;
  const isAdmin = me?.systemRole === 'admin';
  const user = useQuery({
    queryKey: ['users', 'one', id],
    queryFn: () => unwrap(api.GET('/api/v1.0/users/{id}', { params: { path: { id } } })),
    enabled: isAdmin && me?.id !== id,
    staleTime: 5 * 60_000,
    retry: false,
  });
  if (me?.id === id) return <>{t('audit.you', { name: me.name })}</>;
  const u: Schemas['User'] | undefined = user.data;
  if (u) return <>{u.name && u.name !== u.email ? `${u.name} (${u.email})` : u.email}</>;
  return <span className="mono">{id}</span>;
}

function Actor({ record }: { record: AuditRecord }) {
  const { t } = useTranslation();
  const type = record.actorType as string;
  if (type === 'system') return <>{t('audit.actorSystem')}</>;
  if (type === 'anonymous' || record.actorId === null) return <>{t('audit.actorAnonymous')}</>;
  if (type === 'token')
    return (
      <>
        {t('audit.actorToken')} <Link to={`/tokens/${record.actorId}`}>{record.actorId}</Link>
      </>
    );
  return <UserName id={record.actorId} />;
}

/** What was acted on, by the name the record keeps when it has one, linked where the console can show it. */
function Target({ record }: { record: AuditRecord }) {
  const { t } = useTranslation();
  const d = asDetails(record.details);
  const after = asDetails(d.after);
  const before = asDetails(d.before);
  const id = record.targetId;
  switch (record.targetType) {
    case 'token': {
      const name = str(d.name) ?? str(after.name) ?? str(before.name) ?? id;
      return (
        <>
          {t('audit.targetToken')}{' '}
          {record.action === 'token.delete' ? <span>{name}</span> : <Link to={`/tokens/${id}`}>{name}</Link>}
        </>
      );
    }
    case 'resource': {
      const name = str(after.name) ?? str(before.name) ?? id;
      return (
        <>
          {t('audit.targetResource')}{' '}
          {record.action === 'resource.delete' ? <span>{name}</span> : <Link to={`/resources/${id}`}>{name}</Link>}
        </>
      );
    }
    case 'membership':
      return (
        <>
          {t('audit.targetMember', { who: str(d.email) ?? str(d.userId) ?? id, role: str(d.role) ?? '—' })}
          {record.resourceId && (
            <>
              {' '}
              <Link to={`/resources/${record.resourceId}`}>{record.resourceId}</Link>
            </>
          )}
        </>
      );
    case 'user':
      return (
        <>
          {t('audit.targetUser')} {str(d.email) ?? (id === 'unknown' ? t('audit.unknownUser') : id)}
        </>
      );
    default:
      return (
        <>
          {record.targetType} <span className="mono">{id}</span>
        </>
      );
  }
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The change a record describes: a before → after table when it has one, and everything else as JSON. */
function ChangeDetails({ details }: { details: Details }) {
  const { t } = useTranslation();
  const changes = asDetails(details.changes);
  const rows = Object.entries(changes).map(([field, c]) => [field, asDetails(c)] as const);
  const rest = Object.fromEntries(Object.entries(details).filter(([k]) => k !== 'changes'));
  return (
    <div className="audit-details">
      {rows.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">{t('audit.changes')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('audit.field')}</th>
              <th scope="col">{t('audit.before')}</th>
              <th scope="col">{t('audit.after')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([field, c]) => (
              <tr key={field}>
                <th scope="row" className="mono">
                  {field}
                </th>
                <td className="mono">{show(c.from)}</td>
                <td className="mono">{show(c.to)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {Object.keys(rest).length > 0 && <pre>{JSON.stringify(rest, null, 2)}</pre>}
    </div>
  );
}

function Entry({ record, compact }: { record: AuditRecord; compact: boolean }) {
  const { t } = useTranslation();
  const format = useFormat();
  const details = asDetails(record.details);
  const hasDetails = Object.keys(details).length > 0;
  return (
    <li className="audit-entry">
      <div className="audit-entry-head">
        <span className="audit-action">{actionText(t, record.action)}</span>
        <span>
          <Target record={record} />
        </span>
        <time dateTime={record.at} title={format.dateTime(record.at)} className="muted">
          {format.dateTime(record.at)} · {format.relative(record.at)}
        </time>
      </div>
      <div className="audit-meta">
        <span>
          {t('audit.by')} <Actor record={record} />
        </span>
        {record.viaTokenId && (
          <span>
            {t('audit.viaToken')} <Link to={`/tokens/${record.viaTokenId}`}>{record.viaTokenId}</Link>
          </span>
        )}
        {!compact && record.ip && <span>{t('audit.ip', { ip: record.ip })}</span>}
      </div>
      {hasDetails && (
        <Disclosure>
          {({ isExpanded }) => (
            <>
              <Button slot="trigger" variant="quiet" className="audit-details-toggle">
                {isExpanded ? t('audit.hideDetails') : t('audit.showDetails')}
              </Button>
              <DisclosurePanel>
                <ChangeDetails details={details} />
              </DisclosurePanel>
            </>
          )}
        </Disclosure>
      )}
    </li>
  );
}

/** The audit trail, filtered (by target, actor or resource), newest first. */
export function AuditList({ filter, compact = false }: { filter: AuditFilter; compact?: boolean }) {
  const { t } = useTranslation();
  const clean = Object.fromEntries(
    Object.entries(filter).filter(([, v]) => v !== undefined && v !== ''),
  ) as AuditFilter;
  const pages = useInfiniteQuery({
    queryKey: ['audit', clean],
    queryFn: ({ pageParam }) => fetchAudit(clean, pageParam, PAGE_SIZE),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  if (pages.isPending) return <Loading />;
  if (!pages.data) return <ErrorMessage error={pages.error} />;
  const records = pages.data.pages.flatMap((p) => p.items);
  if (records.length === 0) return <p className="muted">{t('audit.empty')}</p>;
  return (
    <>
      <ol className="audit-list" aria-label={t('audit.listLabel')}>
        {records.map((r) => (
          <Entry key={r.id} record={r} compact={compact} />
        ))}
      </ol>
      {pages.isFetchNextPageError && <ErrorMessage error={pages.error} />}
      <LoadMore pages={pages} />
    </>
  );
}
