import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useDeferredValue, useState } from 'react';
import { Cell, Column, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { Button, ErrorMessage, LoadMore, Loading, SelectField, TextField } from '../../components/ui';
import { useFormat } from '../../format';
import { type DateRange, DateRangeFields, rangeQuery } from '../audit/DateRangeFields';
import { UsageChart } from './UsageChart';
import '../audit/audit.css';
import './access-log.css';

const PAGE_SIZE = 50;
const ANY = 'any';

type AccessPage = Awaited<ReturnType<typeof fetchAccess>>;
export type AccessRecord = AccessPage['items'][number];

interface AccessFilter {
  tokenId: string;
  status?: string;
  outcome?: string;
  pathPrefix?: string;
  from?: string;
  to?: string;
}

function fetchAccess(filter: AccessFilter, cursor: string | undefined) {
  return unwrap(api.GET('/api/v1.0/logs/access', { params: { query: { ...filter, limit: PAGE_SIZE, cursor } } }));
}

interface CapturedPart {
  query?: string;
  headers?: Record<string, string>;
  body?: string | null;
}
interface Capture {
  request?: CapturedPart;
  response?: CapturedPart;
  truncated?: boolean;
}

function asCapture(capture: unknown): Capture | null {
  return capture !== null && typeof capture === 'object' ? (capture as Capture) : null;
}

function statusClass(status: number): string {
  return `badge status-${Math.floor(status / 100)}xx`;
}

function Part({ title, part }: { title: string; part: CapturedPart | undefined }) {
  const { t } = useTranslation();
  if (!part) return null;
  const headers = Object.entries(part.headers ?? {});
  return (
    <section>
      <h4>{title}</h4>
      {part.query !== undefined && (
        <>
          <h5 className="field-label">{t('accessLog.query')}</h5>
          {part.query ? <pre className="log-pre">{part.query}</pre> : <p className="muted">{t('accessLog.noQuery')}</p>}
        </>
      )}
      <h5 className="field-label">{t('accessLog.headers')}</h5>
      {headers.length > 0 ? (
        <dl className="details">
          {headers.map(([name, value]) => (
            <div key={name} className="contents">
              <dt className="mono">{name}</dt>
              <dd className="mono">{value}</dd>
            </div>
          ))}
        </dl>
      ) : (
        <p className="muted">{t('accessLog.noHeaders')}</p>
      )}
      <h5 className="field-label">{t('accessLog.body')}</h5>
      {part.body ? <pre className="log-pre">{part.body}</pre> : <p className="muted">{t('accessLog.noBody')}</p>}
    </section>
  );
}

/** One record: what the log always keeps, and the captured request and response when the token logs them. */
function RecordDetail({ record }: { record: AccessRecord }) {
  const { t } = useTranslation();
  const format = useFormat();
  const capture = asCapture(record.capture);
  return (
    <section className="card access-record" aria-labelledby="access-record-title">
      <h3 id="access-record-title">
        {record.method} <span className="mono">{record.path}</span>
      </h3>
      <dl className="details">
        <dt>{t('accessLog.time')}</dt>
        <dd>{format.dateTime(record.at)}</dd>
        <dt>{t('accessLog.status')}</dt>
        <dd>
          <span className={statusClass(record.status)}>{record.status}</span>
        </dd>
        <dt>{t('accessLog.outcome')}</dt>
        <dd className="mono">{record.outcome}</dd>
        <dt>{t('accessLog.duration')}</dt>
        <dd>{t('accessLog.ms', { ms: format.number(record.durationMs) })}</dd>
        <dt>{t('accessLog.client')}</dt>
        <dd className="mono">{record.ip ?? '—'}</dd>
        <dt>{t('accessLog.userAgent')}</dt>
        <dd className="mono">{record.userAgent ?? '—'}</dd>
        <dt>{t('accessLog.route')}</dt>
        <dd className="mono">{record.route ?? '—'}</dd>
        <dt>{t('accessLog.requestId')}</dt>
        <dd className="mono">{record.requestId}</dd>
      </dl>
      {capture ? (
        <>
          {capture.truncated && <p className="alert alert-info">{t('accessLog.truncated')}</p>}
          <div className="capture-grid">
            <Part title={t('accessLog.request')} part={capture.request} />
            {capture.response ? (
              <Part title={t('accessLog.response')} part={capture.response} />
            ) : (
              <section>
                <h4>{t('accessLog.response')}</h4>
                <p className="muted">{t('accessLog.noResponseCapture')}</p>
              </section>
            )}
          </div>
        </>
      ) : (
        <p className="alert alert-info">{t('accessLog.noCapture')}</p>
      )}
    </section>
  );
}

/** A token's access log: filterable table, a record's request and response, requests and errors per day. */
export function TokenAccessLog({ tokenId }: { tokenId: string }) {
  const { t } = useTranslation();
  const format = useFormat();
  const [status, setStatus] = useState(ANY);
  const [outcome, setOutcome] = useState('');
  const [pathPrefix, setPathPrefix] = useState('');
  const [range, setRange] = useState<DateRange>({ from: null, to: null });
  const [selected, setSelected] = useState<string | null>(null);
  const typedOutcome = useDeferredValue(outcome.trim());
  const typedPath = useDeferredValue(pathPrefix.trim());
  const filter: AccessFilter = {
    tokenId,
    ...(status !== ANY ? { status } : {}),
    ...(typedOutcome ? { outcome: typedOutcome.toUpperCase() } : {}),
    ...(typedPath ? { pathPrefix: typedPath } : {}),
    ...rangeQuery(range),
  };
  const usage = useQuery({
    queryKey: ['usage', tokenId],
    queryFn: () => unwrap(api.GET('/api/v1.0/tokens/{id}/usage', { params: { path: { id: tokenId } } })),
  });
  const pages = useInfiniteQuery({
    queryKey: ['access-log', filter],
    queryFn: ({ pageParam }) => fetchAccess(filter, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const records = pages.data?.pages.flatMap((p) => p.items) ?? [];
  const record = records.find((r) => r.id === selected);
  const { tokenId: _, ...rest } = filter;
  const exportHref = (fmt: 'csv' | 'ndjson') =>
    `/api/v1.0/logs/access/export?${new URLSearchParams({ format: fmt, tokenId, ...rest })}`;
  const statuses = [
    { id: ANY, label: t('accessLog.anyStatus') },
    { id: '2xx', label: t('accessLog.status2xx') },
    { id: '3xx', label: t('accessLog.status3xx') },
    { id: '4xx', label: t('accessLog.status4xx') },
    { id: '5xx', label: t('accessLog.status5xx') },
  ];
  return (
    <div className="token-access-log">
      <h3>{t('accessLog.perDay')}</h3>
      {usage.isPending ? (
        <Loading />
      ) : usage.isError ? (
        <ErrorMessage error={usage.error} />
      ) : (
        <UsageChart days={usage.data.daily} />
      )}
      <div className="page-header">
        <h3>{t('accessLog.records')}</h3>
        <div className="export-links">
          <a className="btn btn-quiet" href={exportHref('csv')} download>
            {t('accessLog.export', { format: 'CSV' })}
          </a>
          <a className="btn btn-quiet" href={exportHref('ndjson')} download>
            {t('accessLog.export', { format: 'NDJSON' })}
          </a>
        </div>
      </div>
      <search className="toolbar" aria-label={t('accessLog.filters')}>
        <SelectField label={t('accessLog.status')} choices={statuses} value={status} onChange={setStatus} />
        <TextField
          label={t('accessLog.outcome')}
          value={outcome}
          onChange={setOutcome}
          placeholder={t('accessLog.outcomePlaceholder')}
        />
        <TextField
          label={t('accessLog.pathPrefix')}
          value={pathPrefix}
          onChange={setPathPrefix}
          placeholder="/api/v1.0/"
        />
        <DateRangeFields value={range} onChange={setRange} />
      </search>
      {pages.isPending ? (
        <Loading />
      ) : pages.isError ? (
        <ErrorMessage error={pages.error} />
      ) : (
        <>
          <div className="table-wrap">
            <Table
              aria-label={t('accessLog.records')}
              className="table access-table"
              selectionMode="single"
              selectionBehavior="replace"
              selectedKeys={selected ? [selected] : []}
              onSelectionChange={(keys) => {
                const key = keys === 'all' ? null : ([...keys][0] ?? null);
                setSelected(key === null ? null : String(key));
              }}
            >
              <TableHeader>
                <Column isRowHeader>{t('accessLog.time')}</Column>
                <Column>{t('accessLog.method')}</Column>
                <Column>{t('accessLog.path')}</Column>
                <Column>{t('accessLog.status')}</Column>
                <Column>{t('accessLog.duration')}</Column>
                <Column>{t('accessLog.client')}</Column>
                <Column>{t('accessLog.outcome')}</Column>
              </TableHeader>
              <TableBody items={records} renderEmptyState={() => <p className="muted">{t('accessLog.empty')}</p>}>
                {(r) => (
                  <Row id={r.id} textValue={`${r.method} ${r.path} ${r.status}`}>
                    <Cell>
                      <time dateTime={r.at}>{format.dateTime(r.at)}</time>
                    </Cell>
                    <Cell>{r.method}</Cell>
                    <Cell>
                      <span className="mono">{r.path}</span>
                    </Cell>
                    <Cell>
                      <span className={statusClass(r.status)}>{r.status}</span>
                    </Cell>
                    <Cell>{t('accessLog.ms', { ms: format.number(r.durationMs) })}</Cell>
                    <Cell>
                      <span className="mono">{r.ip ?? '—'}</span>
                    </Cell>
                    <Cell>
                      <span className="mono">{r.outcome}</span>
                    </Cell>
                  </Row>
                )}
              </TableBody>
            </Table>
          </div>
          <LoadMore pages={pages} />
          {record ? (
            <RecordDetail record={record} />
          ) : (
            records.length > 0 && <p className="muted">{t('accessLog.pick')}</p>
          )}
        </>
      )}
    </div>
  );
}
