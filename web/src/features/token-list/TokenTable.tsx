import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Cell, Checkbox, Column, Row, type Selection, Table, TableBody, TableHeader } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { api, type Token, unwrap } from '../../api/client';
import { Button } from '../../components/ui';
import { useFormat } from '../../format';
import { limitLines } from '../token-form/limits';
import { expiryStatus } from './expiry';
import { pathText, useResource } from './queries';
import { UsageSparkline } from './Sparkline';
import './token-list.css';

/** A token's state as a coloured badge, in words (never colour alone). */
export function StateBadge({ state }: { state: Token['state'] }) {
  const { t } = useTranslation();
  return <span className={`badge badge-${state}`}>{t(`tokens.state.${state}`)}</span>;
}

/** When a token expires: relative and as a date, amber within seven days and red once past. */
export function Expiry({ expiresAt }: { expiresAt: string | null }) {
  const { t } = useTranslation();
  const format = useFormat();
  const status = expiryStatus(expiresAt);
  if (expiresAt === null) return <span className="muted">{t('tokens.noExpiry')}</span>;
  return (
    <span className={`expiry expiry-${status}`} data-expiry={status}>
      {status === 'soon' && <span className="visually-hidden">{t('tokens.expiringSoon')}: </span>}
      {status === 'expired' && <span className="visually-hidden">{t('tokens.state.expired')}: </span>}
      <span>{format.relative(expiresAt)}</span> <small>{format.date(expiresAt)}</small>
    </span>
  );
}

/** A token's resource as its path, or "system" for a token attached to none. */
export function ResourcePath({ resourceId }: { resourceId: string | null }) {
  const { t } = useTranslation();
  const resource = useResource(resourceId);
  if (resourceId === null) return <span className="muted">{t('tokens.systemToken')}</span>;
  if (resource.data) return <span>{pathText(resource.data)}</span>;
  if (resource.isError) return <code>{resourceId}</code>;
  return <span className="muted">…</span>;
}

/** A token's limits in one short line under its name; nothing when it has none. */
function LimitsLine({ token }: { token: Token }) {
  const { t, i18n } = useTranslation();
  const format = useFormat();
  const lines = Object.values(limitLines(t, format, i18n.resolvedLanguage ?? 'en', token, true));
  if (!lines.length) return null;
  return <small className="token-limits">{lines.join(' · ')}</small>;
}

/** A user by id as their email (administrators may look users up). */
function Owner({ userId }: { userId: string }) {
  const user = useQuery({
    queryKey: ['users', 'one', userId],
    queryFn: () => unwrap(api.GET('/api/v1.0/users/{id}', { params: { path: { id: userId } } })),
    staleTime: 5 * 60_000,
  });
  return <span>{user.data?.email ?? userId}</span>;
}

function SelectionBox({ label }: { label?: string }) {
  return (
    <Checkbox slot="selection" className="checkbox" aria-label={label}>
      <span className="box" aria-hidden="true" />
    </Checkbox>
  );
}

/**
 * The token table both lists share: a row per token opening its page, with its resource path,
 * level, state, expiry, last use and usage. The admin list adds owners, row selection and actions.
 */
export function TokenTable({
  tokens,
  label,
  showOwner = false,
  selectedKeys,
  onSelectionChange,
  actions,
}: {
  tokens: readonly Token[];
  label: string;
  showOwner?: boolean;
  selectedKeys?: Selection;
  onSelectionChange?: (keys: Selection) => void;
  actions?: (token: Token) => ReactNode;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  const selectable = onSelectionChange !== undefined;
  return (
    <div className="table-wrap token-table-wrap">
      <Table
        aria-label={label}
        className="table token-table"
        selectionMode={selectable ? 'multiple' : 'none'}
        selectionBehavior="toggle"
        selectedKeys={selectedKeys}
        onSelectionChange={onSelectionChange}
      >
        <TableHeader>
          {selectable && (
            <Column className="select-column">
              <SelectionBox />
            </Column>
          )}
          <Column isRowHeader>{t('tokens.columns.name')}</Column>
          {showOwner && <Column>{t('tokens.columns.owner')}</Column>}
          <Column>{t('tokens.columns.resource')}</Column>
          <Column>{t('tokens.columns.level')}</Column>
          <Column>{t('tokens.columns.state')}</Column>
          <Column>{t('tokens.columns.expires')}</Column>
          <Column>{t('tokens.columns.lastUsed')}</Column>
          <Column>{t('tokens.columns.usage')}</Column>
          {actions && <Column>{t('common.actions')}</Column>}
        </TableHeader>
        <TableBody items={tokens} renderEmptyState={() => <p className="muted">{t('tokens.empty')}</p>}>
          {(token) => (
            <Row id={token.id} href={`/tokens/${token.id}`} textValue={token.name}>
              {selectable && (
                <Cell>
                  <SelectionBox label={t('tokens.select')} />
                </Cell>
              )}
              <Cell>
                <span className="token-name">{token.name}</span>
                <LimitsLine token={token} />
              </Cell>
              {showOwner && (
                <Cell>
                  <Owner userId={token.ownerId} />
                </Cell>
              )}
              <Cell>
                <ResourcePath resourceId={token.resourceId} />
              </Cell>
              <Cell>{token.level ?? t('tokens.custom')}</Cell>
              <Cell>
                <StateBadge state={token.state} />
              </Cell>
              <Cell>
                <Expiry expiresAt={token.expiresAt} />
              </Cell>
              <Cell>{token.lastUsedAt ? format.relative(token.lastUsedAt) : t('common.never')}</Cell>
              <Cell>
                <UsageSparkline token={token} />
              </Cell>
              {actions && <Cell>{actions(token)}</Cell>}
            </Row>
          )}
        </TableBody>
      </Table>
    </div>
  );
}

/** How many rows are shown, and "Load more" while the server has more. */
export function LoadMore({
  shown,
  hasMore,
  loading,
  onLoadMore,
}: {
  shown: number;
  hasMore: boolean;
  loading: boolean;
  onLoadMore: () => void;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  return (
    <div className="button-row load-more">
      <span className="muted" role="status">
        {t('tokens.shown', { count: shown, n: format.number(shown) })}
      </span>
      {hasMore && (
        <Button onPress={onLoadMore} isDisabled={loading}>
          {loading ? t('app.loading') : t('common.loadMore')}
        </Button>
      )}
    </div>
  );
}
