import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Form } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { formErrors } from '../../api/errors';
import { AppDialog, Button, ErrorMessage, Loading } from '../../components/ui';
import { type Model, useModel } from '../../model';
import { useMe } from '../../session';
import { KeyReveal } from '../token-actions/KeyReveal';
import { LimitsFields } from './LimitsFields';
import { defaultExpiry, expiryChoices } from './access';
import { createLimitsBody, emptyLimits } from './limits';
import {
  AdminFields,
  ApiGroupsField,
  DraftSummary,
  ExpiryField,
  expiryBody,
  LoggingField,
  NameFields,
  RightsFields,
  rightsBody,
  TOKEN_FIELDS,
  type TokenDraft,
} from './fields';

/**
 * "Add API Token" on a resource: the whole form, a summary before Add, then the key shown once.
 * The dialog's steps (and the key) live in a component that unmounts when the dialog closes.
 */
export function CreateTokenDialog({
  resourceId,
  resourceName,
  isOpen,
  onClose,
}: {
  resourceId: string;
  resourceName: string;
  isOpen: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  return (
    <AppDialog
      title={t('tokenForm.createTitle', { resource: resourceName })}
      isOpen={isOpen}
      onOpenChange={(open) => !open && onClose()}
      size="large"
    >
      {(close) => <CreateSteps resourceId={resourceId} close={close} />}
    </AppDialog>
  );
}

function CreateSteps({ resourceId, close }: { resourceId: string; close: () => void }) {
  const model = useModel();
  const me = useMe();
  if (model.isPending || me.isPending) return <Loading />;
  if (model.isError) return <ErrorMessage error={model.error} />;
  return (
    <CreateForm model={model.data} isAdmin={me.data?.systemRole === 'admin'} resourceId={resourceId} close={close} />
  );
}

/** A fresh draft under this keygate's model and policy. */
function newDraft(model: Model): TokenDraft {
  return {
    name: '',
    description: '',
    mode: 'level',
    level: model.levels[0]?.name ?? 'reader',
    permissions: [],
    expiry: defaultExpiry(expiryChoices(model.policy)),
    expiryDate: null,
    apiGroups: ['native'],
    logging: model.policy.logging.includes('none') ? 'none' : (model.policy.logging[0] ?? 'none'),
    impersonate: '',
    key: '',
    limits: emptyLimits(),
  };
}

function CreateForm({
  model,
  isAdmin,
  resourceId,
  close,
}: {
  model: Model;
  isAdmin: boolean;
  resourceId: string;
  close: () => void;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [step, setStep] = useState<'form' | 'summary' | 'key'>('form');
  const [draft, setDraft] = useState<TokenDraft>(() => newDraft(model));
  const [refusal, setRefusal] = useState<unknown>(null);
  // The key is kept here only, for this dialog; it goes when the dialog closes.
  const [key, setKey] = useState<string | null>(null);
  const set = (patch: Partial<TokenDraft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setRefusal(null);
  };
  const create = useMutation({
    gcTime: 0, // the answer holds the key: nothing of it stays cached after the dialog
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1.0/resources/{id}/tokens', {
          params: { path: { id: resourceId } },
          body: {
            name: draft.name.trim(),
            description: draft.description.trim(),
            ...rightsBody(draft),
            ...expiryBody(draft),
            apiGroups: draft.apiGroups,
            logging: draft.logging,
            ...createLimitsBody(draft.limits),
            ...(isAdmin && draft.impersonate.trim() ? { impersonate: draft.impersonate.trim() } : {}),
            ...(isAdmin && draft.key ? { key: draft.key } : {}),
          },
        }),
      ),
    onSuccess: (token) => {
      setKey(token.key);
      setStep('key');
      void client.invalidateQueries({ queryKey: ['members', resourceId] });
      void client.invalidateQueries({ queryKey: ['tokens'] });
    },
    onError: (error) => {
      setRefusal(error);
      if (Object.keys(formErrors(t, error, TOKEN_FIELDS).validationErrors).length) setStep('form');
    },
  });
  const { validationErrors, formError } = formErrors(t, refusal, TOKEN_FIELDS);
  // The API names expiresAt or expiresIn; the form shows both on the expiry choice when no date field is open.
  if (validationErrors.expiresAt && draft.expiry !== 'date') validationErrors.expiresIn = validationErrors.expiresAt;

  if (step === 'key' && key)
    return (
      <>
        <KeyReveal keyValue={key} />
        <div className="button-row end">
          <Button variant="primary" onPress={close}>
            {t('tokenForm.done')}
          </Button>
        </div>
      </>
    );

  if (step === 'summary')
    return (
      <>
        <h4 className="step-title">{t('tokenForm.summaryTitle')}</h4>
        <DraftSummary model={model} draft={draft} isAdmin={isAdmin} />
        <ErrorMessage text={formError} />
        <div className="button-row end">
          <Button onPress={() => setStep('form')} isDisabled={create.isPending}>
            {t('common.back')}
          </Button>
          <Button variant="primary" onPress={() => create.mutate()} isPending={create.isPending}>
            {t('tokenForm.submit')}
          </Button>
        </div>
      </>
    );

  return (
    <Form
      validationErrors={validationErrors}
      onSubmit={(e) => {
        e.preventDefault();
        setStep('summary');
      }}
    >
      <h4 className="step-title">{t('tokenForm.formTitle')}</h4>
      <p className="form-intro">{t('tokenForm.intro')}</p>
      <NameFields draft={draft} set={set} />
      <RightsFields model={model} draft={draft} set={set} />
      <ExpiryField
        policy={model.policy}
        value={draft.expiry}
        date={draft.expiryDate}
        onChange={(patch) => set(patch)}
      />
      <ApiGroupsField groups={model.apiGroups} value={draft.apiGroups} onChange={(apiGroups) => set({ apiGroups })} />
      <LoggingField modes={model.policy.logging} value={draft.logging} onChange={(logging) => set({ logging })} />
      <LimitsFields
        draft={draft.limits}
        set={(patch) => set({ limits: { ...draft.limits, ...patch } })}
        errors={validationErrors}
      />
      {isAdmin && <AdminFields customKeys={model.policy.customKeys} draft={draft} set={set} />}
      <ErrorMessage text={formError} />
      <div className="button-row end">
        <Button onPress={close}>{t('common.cancel')}</Button>
        <Button variant="primary" type="submit">
          {t('tokenForm.review')}
        </Button>
      </div>
    </Form>
  );
}
