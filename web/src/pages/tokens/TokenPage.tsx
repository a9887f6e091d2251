import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Tab, TabList, TabPanel, Tabs } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router';
import { api, type Token, unwrap } from '../../api/client';
import { Button, ErrorMessage, Loading } from '../../components/ui';
import { TokenAccessLog } from '../../features/access-log/TokenAccessLog';
import { AuditList } from '../../features/audit/AuditList';
import { DeleteTokenDialog } from '../../features/token-actions/DeleteTokenDialog';
import { RevealKeyDialog } from '../../features/token-actions/RevealKeyDialog';
import { RollTokenDialog } from '../../features/token-actions/RollTokenDialog';
import { EditTokenDialog } from '../../features/token-form/EditTokenDialog';
import { limitLines } from '../../features/token-form/limits';
import { Expiry, ResourcePath, StateBadge } from '../../features/token-list/TokenTable';
import '../../features/token-list/token-list.css';
import { useFormat } from '../../format';
import { useModel } from '../../model';
import { useMe } from '../../session';

type Dialog = 'edit' | 'roll' | 'delete' | 'reveal' | null;

/** Switches a token on or off; the answer is the token as it now is. */
function useSwitchToken(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (on: boolean) =>
      on
        ? unwrap(api.POST('/api/v1.0/tokens/{id}/activate', { params: { path: { id } } }))
        : unwrap(api.POST('/api/v1.0/tokens/{id}/deactivate', { params: { path: { id } } })),
    onSuccess: (token) => {
      client.setQueryData(['token', id], token);
      void client.invalidateQueries({ queryKey: ['tokens'] });
      void client.invalidateQueries({ queryKey: ['audit'] });
    },
  });
}

/** A token's page ("open the line"): everything about it but its key, its actions, history and access log. */
export default function TokenPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const token = useQuery({
    queryKey: ['token', id],
    queryFn: () => unwrap(api.GET('/api/v1.0/tokens/{id}', { params: { path: { id } } })),
  });
  const switcher = useSwitchToken(id);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [switched, setSwitched] = useState<Token['state'] | null>(null);

  if (token.isPending) return <Loading />;
  if (token.isError) return <ErrorMessage error={token.error} />;
  const tok = token.data;
  const close = () => setDialog(null);
  const toggle = (on: boolean) => {
    setSwitched(null);
    switcher.mutate(on, { onSuccess: (after) => setSwitched(after.state) });
  };

  return (
    <section>
      <nav aria-label={t('tokens.breadcrumbs')}>
        <ol className="breadcrumbs">
          <li>
            <Link href="/tokens">{t('tokens.title')}</Link>
          </li>
          <li aria-current="page">{tok.name}</li>
        </ol>
      </nav>
      <div className="page-header">
        <div className="token-title">
          <h1>{tok.name}</h1>
          <StateBadge state={tok.state} />
        </div>
      </div>
      <div className="button-row token-actions">
        <Button variant="primary" onPress={() => setDialog('edit')}>
          {t('common.edit')}
        </Button>
        {tok.active ? (
          <Button onPress={() => toggle(false)} isDisabled={switcher.isPending}>
            {t('tokens.deactivate')}
          </Button>
        ) : (
          <Button onPress={() => toggle(true)} isDisabled={switcher.isPending}>
            {t('tokens.activate')}
          </Button>
        )}
        <Button onPress={() => setDialog('roll')}>{t('tokens.roll')}</Button>
        {tok.recoverable && <Button onPress={() => setDialog('reveal')}>{t('tokens.reveal')}</Button>}
        <Button variant="danger" onPress={() => setDialog('delete')}>
          {t('common.delete')}
        </Button>
      </div>
      {switcher.isError && <ErrorMessage error={switcher.error} />}
      {switched && (
        <p role="status" className="alert alert-success">
          {t(`tokens.switched.${switched}`, { name: tok.name })}
        </p>
      )}
      <Tabs>
        <TabList aria-label={t('tokens.tabs.label')} className="tabs">
          <Tab id="details">{t('tokens.tabs.details')}</Tab>
          <Tab id="history">{t('tokens.tabs.history')}</Tab>
          <Tab id="access-log">{t('tokens.tabs.accessLog')}</Tab>
        </TabList>
        <TabPanel id="details">
          <TokenDetails token={tok} />
        </TabPanel>
        <TabPanel id="history">
          <AuditList filter={{ targetId: tok.id }} />
        </TabPanel>
        <TabPanel id="access-log">
          <TokenAccessLog tokenId={tok.id} />
        </TabPanel>
      </Tabs>
      <EditTokenDialog token={tok} isOpen={dialog === 'edit'} onClose={close} />
      <RollTokenDialog token={tok} isOpen={dialog === 'roll'} onClose={close} />
      {tok.recoverable && <RevealKeyDialog token={tok} isOpen={dialog === 'reveal'} onClose={close} />}
      <DeleteTokenDialog
        token={tok}
        isOpen={dialog === 'delete'}
        onClose={() => {
          close();
          // The dialog closes after a delete as after a cancel: only a token that is gone leaves the page.
          void token.refetch().then((r) => {
            if (r.isError) void navigate('/tokens', { replace: true });
          });
        }}
      />
    </section>
  );
}

/** The Details tab: what the token is, what it may do, and its life so far. */
function TokenDetails({ token }: { token: Token }) {
  const { t, i18n } = useTranslation();
  const format = useFormat();
  const model = useModel().data;
  const me = useMe().data;
  const describe = (name: string) => model?.permissions.find((p) => p.name === name)?.description;
  const group = (name: string) => model?.apiGroups.find((g) => g.name === name)?.description;
  const limits = limitLines(t, format, i18n.resolvedLanguage ?? 'en', token);
  return (
    <div className="card">
      <dl className="details">
        <dt>{t('tokens.fields.description')}</dt>
        <dd>{token.description || <span className="muted">{t('common.none')}</span>}</dd>
        <dt>{t('tokens.fields.resource')}</dt>
        <dd>
          {token.resourceId ? (
            <Link href={`/resources/${token.resourceId}`}>
              <ResourcePath resourceId={token.resourceId} />
            </Link>
          ) : (
            <ResourcePath resourceId={null} />
          )}
        </dd>
        <dt>{t('tokens.fields.scope')}</dt>
        <dd>
          {token.resourceId ? t('tokens.scope.subtree') : t('tokens.scope.system')}
          {token.impersonate && <> · {t('tokens.scope.actsAs', { email: token.impersonate.email })}</>}
        </dd>
        <dt>{t('tokens.fields.level')}</dt>
        <dd>{token.level ?? t('tokens.custom')}</dd>
        <dt>{t('tokens.fields.permissions')}</dt>
        <dd>
          <ul className="permission-list" aria-label={t('tokens.fields.permissions')}>
            {token.permissions.map((p) => (
              <li key={p}>
                <code>{p}</code>
                {describe(p) && <> — {describe(p)}</>}
              </li>
            ))}
          </ul>
        </dd>
        <dt>{t('tokens.fields.apiGroups')}</dt>
        <dd>
          {token.apiGroups.length === 0 ? (
            <span className="muted">{t('common.none')}</span>
          ) : (
            <ul className="permission-list">
              {token.apiGroups.map((g) => (
                <li key={g}>
                  <code>{g}</code>
                  {group(g) && <> — {group(g)}</>}
                </li>
              ))}
            </ul>
          )}
        </dd>
        <dt>{t('tokens.fields.logging')}</dt>
        <dd>{t(`tokens.logging.${token.logging}`)}</dd>
        {limits.rate && (
          <>
            <dt>{t('limits.rateLimit')}</dt>
            <dd>{limits.rate}</dd>
          </>
        )}
        {limits.credits && (
          <>
            <dt>{t('limits.credits')}</dt>
            <dd>{limits.credits}</dd>
          </>
        )}
        {limits.ipAllowlist && (
          <>
            <dt>{t('limits.ipAllowlist')}</dt>
            <dd>
              {limits.ipAllowlist}
              <ul className="permission-list" aria-label={t('limits.ipAllowlist')}>
                {token.ipAllowlist?.map((range) => (
                  <li key={range}>
                    <code>{range}</code>
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
        <dt>{t('tokens.fields.expires')}</dt>
        <dd>
          <Expiry expiresAt={token.expiresAt} />
        </dd>
        <dt>{t('tokens.fields.lastUsed')}</dt>
        <dd>
          {token.lastUsedAt
            ? t('tokens.lastUsedFrom', {
                when: format.relative(token.lastUsedAt),
                date: format.dateTime(token.lastUsedAt),
                ip: token.lastUsedIp ?? '?',
              })
            : t('common.never')}
        </dd>
        <dt>{t('tokens.fields.created')}</dt>
        <dd>
          {t('tokens.createdByAt', {
            who: token.createdBy === me?.id ? t('tokens.you') : token.createdBy,
            date: format.dateTime(token.createdAt),
          })}
        </dd>
        <dt>{t('tokens.fields.keyPrefix')}</dt>
        <dd>
          <code>{token.keyPrefix}…</code>
        </dd>
      </dl>
    </div>
  );
}
