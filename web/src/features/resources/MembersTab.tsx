import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Cell, Column, Link as AriaLink, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import type { Member, Resource } from '../../api/client';
import { Button, ErrorMessage, Loading } from '../../components/ui';
import { useFormat } from '../../format';
import { CreateTokenDialog } from '../token-form/CreateTokenDialog';
import { useMembers, useMyPermissions, useRoleLabel, useTypeLabel } from './data';
import { MemberRoleDialog, RemoveMemberDialog } from './MemberDialogs';

/** The Users tab: people (with roles held here or above) and API tokens together, as the source pages show them. */
export function MembersTab({ resource }: { resource: Resource }) {
  const { t } = useTranslation();
  const format = useFormat();
  const roleLabel = useRoleLabel();
  const typeLabel = useTypeLabel();
  const client = useQueryClient();
  const members = useMembers(resource.id);
  const mayManage = useMyPermissions(members.data).has('members:manage');
  const [addingToken, setAddingToken] = useState(false);
  const [addingMember, setAddingMember] = useState(false);
  const [changing, setChanging] = useState<Member | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);

  const heldAt = (m: Member) => {
    if (!m.inherited) return t('members.heldHere');
    const ancestor = resource.path?.find((p) => p.id === m.resourceId);
    return ancestor
      ? t('members.inheritedFrom', { type: typeLabel(ancestor.type), name: ancestor.name })
      : t('members.inheritedAbove');
  };
  const status = (m: Member) => {
    if (m.kind === 'user') return '—';
    const state = m.active ? t('members.active') : t('members.inactive');
    const expiry = m.expiresAt
      ? t(Date.parse(m.expiresAt) < Date.now() ? 'members.expired' : 'members.expires', {
          when: format.relative(m.expiresAt),
        })
      : t('members.neverExpires');
    return (
      <>
        <span className={`badge ${m.active ? 'badge-active' : 'badge-inactive'}`}>{state}</span>{' '}
        <span title={m.expiresAt ? format.dateTime(m.expiresAt) : undefined}>{expiry}</span>
      </>
    );
  };

  return (
    <>
      <div className="toolbar">
        <Button variant="primary" onPress={() => setAddingToken(true)}>
          {t('tokenForm.add')}
        </Button>
        {mayManage && <Button onPress={() => setAddingMember(true)}>{t('members.add')}</Button>}
      </div>
      {members.isPending ? (
        <Loading />
      ) : members.isError ? (
        <ErrorMessage error={members.error} />
      ) : (
        <div className="table-wrap">
          <Table aria-label={t('members.tableLabel', { name: resource.name })} className="table members-table">
            <TableHeader>
              <Column isRowHeader>{t('members.name')}</Column>
              <Column>{t('members.kind')}</Column>
              <Column>{t('members.email')}</Column>
              <Column>{t('members.roleOrLevel')}</Column>
              <Column>{t('members.heldAt')}</Column>
              <Column>{t('members.status')}</Column>
              <Column>{t('common.actions')}</Column>
            </TableHeader>
            <TableBody items={members.data} renderEmptyState={() => <p className="muted">{t('members.none')}</p>}>
              {(m) => (
                <Row id={`${m.kind}:${m.id}`}>
                  <Cell>
                    {m.kind === 'token' ? <AriaLink href={`/tokens/${m.id}`}>{m.name}</AriaLink> : m.name || m.email}
                  </Cell>
                  <Cell>
                    <span className={`badge member-kind-${m.kind}`}>{t(`members.kinds.${m.kind}`)}</span>
                  </Cell>
                  <Cell>{m.email ?? '—'}</Cell>
                  <Cell>{roleLabel(m.role)}</Cell>
                  <Cell>{heldAt(m)}</Cell>
                  <Cell>{status(m)}</Cell>
                  <Cell>
                    {m.kind === 'user' && mayManage ? (
                      <div className="row-actions">
                        <Button
                          variant="quiet"
                          aria-label={t('members.actionFor', {
                            action: m.inherited ? t('members.giveHere') : t('members.change'),
                            name: m.name || m.email,
                          })}
                          onPress={() => setChanging(m)}
                        >
                          {m.inherited ? t('members.giveHere') : t('members.change')}
                        </Button>
                        {!m.inherited && (
                          <Button
                            variant="quiet"
                            aria-label={t('members.actionFor', {
                              action: t('members.remove'),
                              name: m.name || m.email,
                            })}
                            onPress={() => setRemoving(m)}
                          >
                            {t('members.remove')}
                          </Button>
                        )}
                      </div>
                    ) : null}
                  </Cell>
                </Row>
              )}
            </TableBody>
          </Table>
        </div>
      )}
      <CreateTokenDialog
        resourceId={resource.id}
        resourceName={resource.name}
        isOpen={addingToken}
        onClose={() => {
          setAddingToken(false);
          // The new token belongs in this list; the dialog itself knows nothing of it.
          void client.invalidateQueries({ queryKey: ['members', resource.id] });
        }}
      />
      <MemberRoleDialog resourceId={resource.id} isOpen={addingMember} onClose={() => setAddingMember(false)} />
      {changing && (
        <MemberRoleDialog resourceId={resource.id} member={changing} isOpen onClose={() => setChanging(null)} />
      )}
      <RemoveMemberDialog resourceId={resource.id} member={removing} onClose={() => setRemoving(null)} />
    </>
  );
}
