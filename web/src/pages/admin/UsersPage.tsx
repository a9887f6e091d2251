import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import {
  Cell,
  Column,
  Form,
  Input,
  Label,
  Row,
  SearchField,
  Table,
  TableBody,
  TableHeader,
  Button as AriaButton,
} from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { api, unwrap, type User } from '../../api/client';
import { formErrors } from '../../api/errors';
import { AppDialog, Button, ErrorMessage, LoadMore, Loading, SelectField, TextField } from '../../components/ui';
import { useFormat } from '../../format';
import { useMe } from '../../session';
import '../../features/audit/audit.css';

const PAGE_SIZE = 25;
type Role = 'admin' | 'user';

function useRoleChoices() {
  const { t } = useTranslation();
  return [
    { id: 'user', label: t('users.role.user') },
    { id: 'admin', label: t('users.role.admin') },
  ];
}

/** Creating a user: refusals are shown at the field the API names (EMAIL_TAKEN at the email). */
function CreateUserDialog({ isOpen, onOpenChange }: { isOpen: boolean; onOpenChange: (open: boolean) => void }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const roles = useRoleChoices();
  const [role, setRole] = useState<Role>('user');
  const create = useMutation({
    mutationFn: (body: { email: string; name?: string; password?: string; systemRole: Role }) =>
      unwrap(api.POST('/api/v1.0/users', { body })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['users'] });
      void client.invalidateQueries({ queryKey: ['audit'] });
      onOpenChange(false);
    },
  });
  const { validationErrors, formError } = formErrors(t, create.error, ['email', 'name', 'password', 'systemRole']);
  const close = (open: boolean) => {
    if (!open) {
      create.reset();
      setRole('user');
    }
    onOpenChange(open);
  };
  return (
    <AppDialog title={t('users.create')} isOpen={isOpen} onOpenChange={close}>
      {(closeDialog) => (
        <Form
          validationErrors={validationErrors}
          onSubmit={(e) => {
            e.preventDefault();
            const data = new FormData(e.currentTarget);
            const name = String(data.get('name') ?? '').trim();
            const password = String(data.get('password') ?? '');
            create.mutate({
              email: String(data.get('email') ?? '').trim(),
              ...(name ? { name } : {}),
              ...(password ? { password } : {}),
              systemRole: role,
            });
          }}
        >
          <TextField label={t('users.email')} name="email" type="email" isRequired autoFocus />
          <TextField label={t('users.name')} name="name" description={t('users.nameHint')} />
          <TextField
            label={t('users.password')}
            name="password"
            type="password"
            autoComplete="new-password"
            description={t('users.passwordHint')}
          />
          <SelectField
            label={t('users.systemRole')}
            name="systemRole"
            choices={roles}
            value={role}
            onChange={(v) => setRole(v as Role)}
            description={t(role === 'admin' ? 'users.role.adminHint' : 'users.role.userHint')}
          />
          <ErrorMessage text={formError} />
          <div className="button-row end">
            <Button onPress={closeDialog}>{t('common.cancel')}</Button>
            <Button type="submit" variant="primary" isDisabled={create.isPending}>
              {t('users.createSubmit')}
            </Button>
          </div>
        </Form>
      )}
    </AppDialog>
  );
}

type Change = { user: User; kind: 'active' } | { user: User; kind: 'role' };

/** Switching a user on or off, or changing their system role, after the administrator confirms. */
function ChangeUserDialog({ change, onClose }: { change: Change | null; onClose: () => void }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const roles = useRoleChoices();
  const [role, setRole] = useState<Role | null>(null);
  const patch = useMutation({
    mutationFn: ({ id, body }: { id: string; body: { active?: boolean; systemRole?: Role } }) =>
      unwrap(api.PATCH('/api/v1.0/users/{id}', { params: { path: { id } }, body })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['users'] });
      void client.invalidateQueries({ queryKey: ['audit'] });
      close();
    },
  });
  function close() {
    patch.reset();
    setRole(null);
    onClose();
  }
  if (!change) return null;
  const { user } = change;
  const who = user.name && user.name !== user.email ? `${user.name} (${user.email})` : user.email;
  const title =
    change.kind === 'role'
      ? t('users.changeRoleTitle')
      : user.active
        ? t('users.disableTitle')
        : t('users.enableTitle');
  const chosen = role ?? (user.systemRole as Role);
  return (
    <AppDialog title={title} isOpen onOpenChange={(open) => !open && close()} size="small">
      {change.kind === 'active' ? (
        <p>{user.active ? t('users.disableConfirm', { who }) : t('users.enableConfirm', { who })}</p>
      ) : (
        <>
          <p>{t('users.changeRoleFor', { who })}</p>
          <SelectField
            label={t('users.systemRole')}
            choices={roles}
            value={chosen}
            onChange={(v) => setRole(v as Role)}
          />
        </>
      )}
      <ErrorMessage error={patch.error} />
      <div className="button-row end">
        <Button onPress={close}>{t('common.cancel')}</Button>
        <Button
          variant={change.kind === 'active' && user.active ? 'danger' : 'primary'}
          isDisabled={patch.isPending || (change.kind === 'role' && chosen === user.systemRole)}
          onPress={() =>
            patch.mutate({
              id: user.id,
              body: change.kind === 'active' ? { active: !user.active } : { systemRole: chosen },
            })
          }
        >
          {change.kind === 'role' ? t('common.save') : user.active ? t('users.disable') : t('users.enable')}
        </Button>
      </div>
    </AppDialog>
  );
}

/** The users (system administrators): search, create, switch on or off, change their system role. */
export default function UsersPage() {
  const { t } = useTranslation();
  const format = useFormat();
  const me = useMe().data;
  const [q, setQ] = useState('');
  const [creating, setCreating] = useState(false);
  const [change, setChange] = useState<Change | null>(null);
  const pages = useInfiniteQuery({
    queryKey: ['users', { q }],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1.0/users', { params: { query: { q: q || undefined, limit: PAGE_SIZE, cursor: pageParam } } }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const users = pages.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section aria-labelledby="users-title">
      <div className="page-header">
        <h2 id="users-title">{t('app.adminUsers')}</h2>
        <Button variant="primary" onPress={() => setCreating(true)}>
          {t('users.create')}
        </Button>
      </div>
      <search className="toolbar" aria-label={t('users.searchLabel')}>
        <SearchField className="field search-field" value={q} onChange={setQ}>
          <Label>{t('users.search')}</Label>
          <div className="combo">
            <Input placeholder={t('users.searchPlaceholder')} />
            <AriaButton className="combo-button" aria-label={t('users.clearSearch')}>
              <span aria-hidden="true">×</span>
            </AriaButton>
          </div>
        </SearchField>
      </search>
      {pages.isPending ? (
        <Loading />
      ) : pages.isError ? (
        <ErrorMessage error={pages.error} />
      ) : (
        <>
          <div className="table-wrap">
            <Table aria-label={t('app.adminUsers')} className="table">
              <TableHeader>
                <Column isRowHeader>{t('users.email')}</Column>
                <Column>{t('users.name')}</Column>
                <Column>{t('users.systemRole')}</Column>
                <Column>{t('users.status')}</Column>
                <Column>{t('users.created')}</Column>
                <Column>{t('common.actions')}</Column>
              </TableHeader>
              <TableBody items={users} renderEmptyState={() => <p className="muted">{t('users.none')}</p>}>
                {(user) => (
                  <Row id={user.id}>
                    <Cell>{user.email}</Cell>
                    <Cell>{user.name}</Cell>
                    <Cell>{t(`users.role.${user.systemRole}`)}</Cell>
                    <Cell>
                      <span className={user.active ? 'badge badge-active' : 'badge badge-inactive'}>
                        {user.active ? t('users.active') : t('users.disabled')}
                      </span>
                    </Cell>
                    <Cell>
                      <time dateTime={user.createdAt} title={format.dateTime(user.createdAt)}>
                        {format.date(user.createdAt)}
                      </time>
                    </Cell>
                    <Cell>
                      {user.id === me?.id ? (
                        <span className="muted">{t('users.itsYou')}</span>
                      ) : (
                        <div className="button-row">
                          <Button onPress={() => setChange({ user, kind: 'role' })}>
                            {t('users.changeRole')} <span className="visually-hidden">{user.email}</span>
                          </Button>
                          <Button
                            variant={user.active ? 'danger' : 'secondary'}
                            onPress={() => setChange({ user, kind: 'active' })}
                          >
                            {user.active ? t('users.disable') : t('users.enable')}{' '}
                            <span className="visually-hidden">{user.email}</span>
                          </Button>
                        </div>
                      )}
                    </Cell>
                  </Row>
                )}
              </TableBody>
            </Table>
          </div>
          <LoadMore pages={pages} />
        </>
      )}
      <CreateUserDialog isOpen={creating} onOpenChange={setCreating} />
      <ChangeUserDialog change={change} onClose={() => setChange(null)} />
    </section>
  );
}
