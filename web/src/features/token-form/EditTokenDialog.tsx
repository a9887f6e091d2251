import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Form } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { api, type Token, unwrap } from '../../api/client';
import { formErrors } from '../../api/errors';
import { AppDialog, Button, ErrorMessage, Loading } from '../../components/ui';
import { useFormat } from '../../format';
import { type Model, useModel } from '../../model';
import { LimitsFields } from './LimitsFields';
import { changedLimitsBody, limitsFromToken } from './limits';
import {
  ApiGroupsField,
  ExpiryField,
  expiryBody,
  LoggingField,
  NameFields,
  RightsFields,
  rightsBody,
  TOKEN_FIELDS,
  type TokenDraft,
} from './fields';

/** Edit a token's name, description, permissions, API groups, expiry, logging and limits, with the create form's fields. */
export function EditTokenDialog({ token, isOpen, onClose }: { token: Token; isOpen: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <AppDialog
      title={t('tokenForm.editTitle', { name: token.name })}
      isOpen={isOpen}
      onOpenChange={(open) => !open && onClose()}
      size="large"
    >
      {(close) => <EditSteps token={token} close={close} />}
    </AppDialog>
  );
}

function EditSteps({ token, close }: { token: Token; close: () => void }) {
  const model = useModel();
  if (model.isPending) return <Loading />;
  if (model.isError) return <ErrorMessage error={model.error} />;
  return <EditForm model={model.data} token={token} close={close} />;
}

function EditForm({ model, token, close }: { model: Model; token: Token; close: () => void }) {
  const { t } = useTranslation();
  const format = useFormat();
  const client = useQueryClient();
  const [draft, setDraft] = useState<TokenDraft>(() => ({
    name: token.name,
    description: token.description,
    mode: token.level ? 'level' : 'custom',
    level: token.level ?? model.levels[0]?.name ?? 'reader',
    permissions: token.permissions,
    expiry: 'keep',
    expiryDate: null,
    apiGroups: token.apiGroups,
    logging: token.logging,
    impersonate: '',
    key: '',
    limits: limitsFromToken(token),
  }));
  // The limits as the token had them, so only the ones changed are sent.
  const [limitsBefore] = useState(() => limitsFromToken(token));
  const [refusal, setRefusal] = useState<unknown>(null);
  const set = (patch: Partial<TokenDraft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setRefusal(null);
  };
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/api/v1.0/tokens/{id}', {
          params: { path: { id: token.id } },
          body: {
            name: draft.name.trim(),
            description: draft.description.trim(),
            ...rightsBody(draft),
            ...expiryBody(draft),
            apiGroups: draft.apiGroups,
            logging: draft.logging,
            ...changedLimitsBody(limitsBefore, draft.limits),
          },
        }),
      ),
    onSuccess: (saved) => {
      client.setQueryData(['token', token.id], saved);
      void client.invalidateQueries({ queryKey: ['tokens'] });
      if (token.resourceId) void client.invalidateQueries({ queryKey: ['members', token.resourceId] });
      close();
    },
    onError: setRefusal,
  });
  const { validationErrors, formError } = formErrors(t, refusal, TOKEN_FIELDS);
  if (validationErrors.expiresAt && draft.expiry !== 'date') validationErrors.expiresIn = validationErrors.expiresAt;
  return (
    <Form
      validationErrors={validationErrors}
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <NameFields draft={draft} set={set} />
      <RightsFields model={model} draft={draft} set={set} />
      <ExpiryField
        policy={model.policy}
        value={draft.expiry}
        date={draft.expiryDate}
        onChange={(patch) => set(patch)}
        current={token.expiresAt ? format.date(token.expiresAt) : t('common.never')}
      />
      <ApiGroupsField groups={model.apiGroups} value={draft.apiGroups} onChange={(apiGroups) => set({ apiGroups })} />
      <LoggingField modes={model.policy.logging} value={draft.logging} onChange={(logging) => set({ logging })} />
      <LimitsFields
        draft={draft.limits}
        set={(patch) => set({ limits: { ...draft.limits, ...patch } })}
        errors={validationErrors}
      />
      <ErrorMessage text={formError} />
      <div className="button-row end">
        <Button onPress={close}>{t('common.cancel')}</Button>
        <Button variant="primary" type="submit" isPending={save.isPending}>
          {t('common.save')}
        </Button>
      </div>
    </Form>
  );
}
