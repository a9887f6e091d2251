import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import {
  Button as AriaButton,
  ComboBox,
  Input,
  type Key,
  Label,
  ListBox,
  ListBoxItem,
  Menu,
  MenuItem,
  MenuTrigger,
  Popover,
  SearchField,
  type Selection,
} from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { ApiError, api, type Resource, type Token, unwrap } from '../../api/client';
import { errorText } from '../../api/errors';
import { Button, ErrorMessage, Loading, SelectField } from '../../components/ui';
import { DeleteTokenDialog } from '../../features/token-actions/DeleteTokenDialog';
import { EXPIRING_SOON_MS } from '../../features/token-list/expiry';
import { pathText, type TokenQuery, useTokenPages } from '../../features/token-list/queries';
import { type StateFilter, StateSelect } from '../../features/token-list/TokenFilters';
import { LoadMore, TokenTable } from '../../features/token-list/TokenTable';

type ExpiryFilter = 'any' | 'week' | 'month' | 'later';

const DAY = 24 * 3600e3;

/** The expiry window for a preset, from `now` (fixed when the preset is chosen). */
function expiryQuery(expiry: ExpiryFilter, now: number): TokenQuery {
  if (expiry === 'week')
    return { expiresAfter: new Date(now).toISOString(), expiresBefore: new Date(now + EXPIRING_SOON_MS).toISOString() };
  if (expiry === 'month')
    return { expiresAfter: new Date(now).toISOString(), expiresBefore: new Date(now + 30 * DAY).toISOString() };
  if (expiry === 'later') return { expiresAfter: new Date(now + 30 * DAY).toISOString() };
  return {};
}

/** A user to filter by, searched by name or email as one types (GET /users?q=). */
function OwnerFilter({ onChange }: { onChange: (userId: string | null) => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const users = useQuery({
    queryKey: ['users', { q: text }],
    queryFn: () => unwrap(api.GET('/api/v1.0/users', { params: { query: { q: text || undefined, limit: 20 } } })),
    staleTime: 30_000,
  });
  return (
    <ComboBox
      className="field"
      inputValue={text}
      onInputChange={(v) => {
        setText(v);
        if (v === '') onChange(null);
      }}
      onSelectionChange={(key: Key | null) => onChange(key === null ? null : String(key))}
      items={users.data?.items ?? []}
      allowsEmptyCollection
    >
      <Label>{t('adminTokens.filters.owner')}</Label>
      <div className="combo">
        <Input placeholder={t('adminTokens.filters.anyone')} />
        <AriaButton className="select-button combo-button" aria-label={t('adminTokens.filters.showUsers')}>
          <span aria-hidden="true">▾</span>
        </AriaButton>
      </div>
      <Popover className="popover">
        <ListBox
          className="listbox"
          renderEmptyState={() => <p className="muted">{t('adminTokens.filters.noUsers')}</p>}
        >
          {(u: { id: string; name: string; email: string }) => (
            <ListBoxItem id={u.id} textValue={u.email} className="listbox-item">
              <span>{u.email}</span>
              <small>{u.name}</small>
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </ComboBox>
  );
}

/** A resource to filter by: a search field, its matches to choose from, and the choice with a way to clear it. */
function ResourceFilter({ value, onChange }: { value: Resource | null; onChange: (r: Resource | null) => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const found = useQuery({
    queryKey: ['resources', { q: text }],
    queryFn: () => unwrap(api.GET('/api/v1.0/resources', { params: { query: { q: text, limit: 10 } } })),
    enabled: text.trim() !== '' && value === null,
    staleTime: 30_000,
  });
  if (value)
    return (
      <div className="field resource-picker">
        <span className="field-label">{t('adminTokens.filters.resource')}</span>
        <span className="chip">
          <span>{pathText(value)}</span>
          <Button variant="quiet" onPress={() => onChange(null)} aria-label={t('adminTokens.filters.clearResource')}>
            ✕
          </Button>
        </span>
      </div>
    );
  return (
    <div className="resource-picker">
      <SearchField className="field search-field" value={text} onChange={setText}>
        <Label>{t('adminTokens.filters.resource')}</Label>
        <Input placeholder={t('adminTokens.filters.anyResource')} />
      </SearchField>
      {text.trim() !== '' && found.data && (
        <ListBox
          aria-label={t('adminTokens.filters.resourceMatches')}
          className="listbox"
          selectionMode="single"
          items={found.data.items}
          onSelectionChange={(keys) => {
            const id = [...(keys as Set<Key>)][0];
            const r = found.data.items.find((x) => x.id === id);
            if (r) onChange(r);
          }}
          renderEmptyState={() => <p className="muted">{t('adminTokens.filters.noResources')}</p>}
        >
          {(r) => (
            <ListBoxItem id={r.id} textValue={r.name} className="listbox-item">
              {pathText(r)}
            </ListBoxItem>
          )}
        </ListBox>
      )}
    </div>
  );
}

interface BulkOutcome {
  done: number;
  failed: { name: string; code: string }[];
}

/** "API keys and access logs": every user's tokens for system administrators, filtered, with bulk deactivation. */
export default function AdminTokensPage() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [owner, setOwner] = useState<string | null>(null);
  const [resource, setResource] = useState<Resource | null>(null);
  const [state, setState] = useState<StateFilter>('all');
  const [expiry, setExpiry] = useState<{ preset: ExpiryFilter; now: number }>({ preset: 'any', now: 0 });
  const [selected, setSelected] = useState<Selection>(new Set());
  const [outcome, setOutcome] = useState<BulkOutcome | null>(null);
  const [deleting, setDeleting] = useState<Token | null>(null);

  const query = useMemo<TokenQuery>(
    () => ({
      owner: owner ?? '*',
      ...(resource ? { resourceId: resource.id } : {}),
      ...(state !== 'all' ? { state } : {}),
      ...expiryQuery(expiry.preset, expiry.now),
    }),
    [owner, resource, state, expiry],
  );
  const list = useTokenPages(query);
  const selectedIds = selected === 'all' ? list.tokens.map((x) => x.id) : [...selected].map(String);

  const refresh = () => {
    void client.invalidateQueries({ queryKey: ['tokens'] });
    void client.invalidateQueries({ queryKey: ['token'] });
  };
  const bulk = useMutation({
    mutationFn: (ids: string[]) => unwrap(api.POST('/api/v1.0/tokens/deactivate', { body: { ids } })),
    onSuccess: ({ results }) => {
      const names = new Map(list.tokens.map((x) => [x.id, x.name]));
      setOutcome({
        done: results.filter((r) => r.ok).length,
        failed: results.filter((r) => !r.ok).map((r) => ({ name: names.get(r.id) ?? r.id, code: r.code ?? '' })),
      });
      setSelected(new Set());
      refresh();
    },
  });
  const one = useMutation({
    mutationFn: ({ id, on }: { id: string; on: boolean }) =>
      on
        ? unwrap(api.POST('/api/v1.0/tokens/{id}/activate', { params: { path: { id } } }))
        : unwrap(api.POST('/api/v1.0/tokens/{id}/deactivate', { params: { path: { id } } })),
    onSuccess: refresh,
  });

  const filtersChanged = () => {
    setSelected(new Set());
    setOutcome(null);
  };

  return (
    <section>
      <h2>{t('adminTokens.title')}</h2>
      <p className="muted">{t('adminTokens.intro')}</p>
      <div className="toolbar token-filters">
        <OwnerFilter
          onChange={(id) => {
            setOwner(id);
            filtersChanged();
          }}
        />
        <ResourceFilter
          value={resource}
          onChange={(r) => {
            setResource(r);
            filtersChanged();
          }}
        />
        <StateSelect
          value={state}
          onChange={(s) => {
            setState(s);
            filtersChanged();
          }}
        />
        <SelectField
          label={t('adminTokens.filters.expiry')}
          value={expiry.preset}
          choices={(['any', 'week', 'month', 'later'] as const).map((id) => ({
            id,
            label: t(`adminTokens.expiry.${id}`),
          }))}
          onChange={(preset) => {
            setExpiry({ preset: preset as ExpiryFilter, now: Date.now() });
            filtersChanged();
          }}
        />
      </div>
      <div className="button-row bulk-bar">
        <Button
          variant="danger"
          isDisabled={selectedIds.length === 0 || bulk.isPending}
          onPress={() => {
            setOutcome(null);
            bulk.mutate(selectedIds);
          }}
        >
          {t('adminTokens.bulkDeactivate', { count: selectedIds.length })}
        </Button>
      </div>
      {bulk.isError && <ErrorMessage error={bulk.error} />}
      {one.isError && <ErrorMessage error={one.error} />}
      {outcome && (
        <div
          role="status"
          className={`alert bulk-outcome ${outcome.failed.length ? 'alert-warning' : 'alert-success'}`}
        >
          <p>{t('adminTokens.bulkDone', { count: outcome.done })}</p>
          {outcome.failed.length > 0 && (
            <>
              <p>{t('adminTokens.bulkFailed', { count: outcome.failed.length })}</p>
              <ul>
                {outcome.failed.map((f) => (
                  <li key={f.name}>
                    {f.name}: {errorText(t, new ApiError(0, f.code, f.code))}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorMessage error={list.error} />
      ) : (
        <>
          <TokenTable
            tokens={list.tokens}
            label={t('adminTokens.title')}
            showOwner
            selectedKeys={selected}
            onSelectionChange={setSelected}
            actions={(token) => (
              <MenuTrigger>
                <Button variant="quiet" aria-label={t('adminTokens.actionsFor', { name: token.name })}>
                  ⋯
                </Button>
                <Popover className="popover">
                  <Menu
                    className="listbox"
                    onAction={(action) => {
                      if (action === 'delete') setDeleting(token);
                      else one.mutate({ id: token.id, on: action === 'activate' });
                    }}
                  >
                    {token.active ? (
                      <MenuItem id="deactivate" className="listbox-item">
                        {t('tokens.deactivate')}
                      </MenuItem>
                    ) : (
                      <MenuItem id="activate" className="listbox-item">
                        {t('tokens.activate')}
                      </MenuItem>
                    )}
                    <MenuItem id="delete" className="listbox-item">
                      {t('common.delete')}
                    </MenuItem>
                  </Menu>
                </Popover>
              </MenuTrigger>
            )}
          />
          <LoadMore
            shown={list.tokens.length}
            hasMore={list.hasNextPage}
            loading={list.isFetchingNextPage}
            onLoadMore={() => void list.fetchNextPage()}
          />
        </>
      )}
      {deleting && (
        <DeleteTokenDialog
          token={deleting}
          isOpen
          onClose={() => {
            setDeleting(null);
            refresh();
          }}
        />
      )}
    </section>
  );
}
