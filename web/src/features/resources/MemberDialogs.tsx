import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Form } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { api, type Member, unwrap } from '../../api/client';
import { formErrors } from '../../api/errors';
import { AppDialog, Button, ErrorMessage, SelectField, TextField } from '../../components/ui';
import { useModel } from '../../model';
import { useRoleLabel } from './data';

function useRoleChoices() {
  const roleLabel = useRoleLabel();
  return (useModel().data?.levels ?? []).map((l) => ({ id: l.name, label: roleLabel(l.name) }));
}

/**
 * Gives someone a role on the resource: a new member by email address (`member` absent), or another
 * role for a member. Refusals are shown at the field the API names (UNKNOWN_USER at the email,
 * ROLE_ESCALATION at the role).
 */
export function MemberRoleDialog({
  resourceId,
  member,
  isOpen,
  onClose,
}: {
  resourceId: string;
  member?: Member;
  isOpen: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const choices = useRoleChoices();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<string | null>(null);
  const chosen = role ?? member?.role ?? choices[0]?.id ?? null;
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/api/v1.0/resources/{id}/members/{userId}', {
          params: { path: { id: resourceId, userId: member ? member.id : email.trim() } },
          body: { role: chosen ?? '' },
        }),
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['members'] });
      close();
    },
  });
  const { validationErrors, formError } = formErrors(t, save.error, ['userId', 'role']);
  const close = () => {
    save.reset();
    setEmail('');
    setRole(null);
    onClose();
  };
  return (
    <AppDialog
      title={member ? t('members.changeTitle', { name: member.name || member.email }) : t('members.addTitle')}
      isOpen={isOpen}
      onOpenChange={(open) => !open && close()}
    >
      <Form
        validationErrors={validationErrors}
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        {member ? (
          <p>{member.email}</p>
        ) : (
          <TextField
            label={t('members.email')}
            name="userId"
            type="email"
            value={email}
            onChange={(v) => {
              setEmail(v);
              if (save.isError) save.reset();
            }}
            isRequired
            autoFocus
            description={t('members.emailHint')}
          />
        )}
        <SelectField
          label={t('members.role')}
          name="role"
          choices={choices}
          value={chosen}
          onChange={(v) => {
            setRole(v);
            if (save.isError) save.reset();
          }}
        />
        <ErrorMessage text={formError} />
        <div className="button-row end">
          <Button onPress={close}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" isDisabled={save.isPending}>
            {member ? t('common.save') : t('members.addSubmit')}
          </Button>
        </div>
      </Form>
    </AppDialog>
  );
}

/** Asks before taking a member's role on the resource away, and shows a refusal. */
export function RemoveMemberDialog({
  resourceId,
  member,
  onClose,
}: {
  resourceId: string;
  member: Member | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: (m: Member) =>
      unwrap(
        api.DELETE('/api/v1.0/resources/{id}/members/{userId}', {
          params: { path: { id: resourceId, userId: m.id } },
        }),
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['members'] });
      close();
    },
  });
  const close = () => {
    remove.reset();
    onClose();
  };
  return (
    <AppDialog
      title={t('members.removeTitle')}
      size="small"
      isOpen={member !== null}
      onOpenChange={(open) => !open && close()}
    >
      <p>{t('members.removeConfirm', { name: member?.name || member?.email })}</p>
      <ErrorMessage error={remove.error} />
      <div className="button-row end">
        <Button onPress={close}>{t('common.cancel')}</Button>
        <Button variant="danger" isDisabled={remove.isPending} onPress={() => member && remove.mutate(member)}>
          {t('members.remove')}
        </Button>
      </div>
    </AppDialog>
  );
}
