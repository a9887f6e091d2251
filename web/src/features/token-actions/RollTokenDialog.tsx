import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Label, Radio, RadioGroup } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { api, type Token, unwrap } from '../../api/client';
import { AppDialog, Button, ErrorMessage } from '../../components/ui';
import { useFormat } from '../../format';
import { KeyReveal } from './KeyReveal';

/** How long the old key keeps working after a roll, in seconds. */
export const GRACE_PRESETS = [0, 60, 900, 3600, 86400] as const;

/** Gives a token a new key; the old one keeps working for a chosen grace. The new key is shown once. */
export function RollTokenDialog({ token, isOpen, onClose }: { token: Token; isOpen: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <AppDialog
      title={t('tokenForm.rollTitle', { name: token.name })}
      isOpen={isOpen}
      onOpenChange={(open) => !open && onClose()}
    >
      {(close) => <RollSteps token={token} close={close} />}
    </AppDialog>
  );
}

function RollSteps({ token, close }: { token: Token; close: () => void }) {
  const { t } = useTranslation();
  const format = useFormat();
  const client = useQueryClient();
  const [grace, setGrace] = useState<number>(60);
  // The new key and until when the old one works: this dialog's state only.
  const [rolled, setRolled] = useState<{ key: string; oldUntil: string | null } | null>(null);
  const roll = useMutation({
    gcTime: 0,
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1.0/tokens/{id}/roll', { params: { path: { id: token.id } }, body: { graceSeconds: grace } }),
      ),
    onSuccess: (answer) => {
      setRolled({ key: answer.key, oldUntil: grace > 0 ? new Date(Date.now() + grace * 1000).toISOString() : null });
      void client.invalidateQueries({ queryKey: ['token', token.id] });
      void client.invalidateQueries({ queryKey: ['tokens'] });
      if (token.resourceId) void client.invalidateQueries({ queryKey: ['members', token.resourceId] });
    },
  });
  if (rolled)
    return (
      <>
        <KeyReveal keyValue={rolled.key} />
        <p className="alert alert-info">
          {rolled.oldUntil
            ? t('tokenForm.oldKeyUntil', { time: format.dateTime(rolled.oldUntil) })
            : t('tokenForm.oldKeyStopped')}
        </p>
        <div className="button-row end">
          <Button variant="primary" onPress={close}>
            {t('tokenForm.done')}
          </Button>
        </div>
      </>
    );
  return (
    <>
      <p>{t('tokenForm.rollIntro')}</p>
      <RadioGroup className="field" value={String(grace)} onChange={(v) => setGrace(Number(v))}>
        <Label className="field-label">{t('tokenForm.grace')}</Label>
        <div className="group-list">
          {GRACE_PRESETS.map((s) => (
            <Radio key={s} value={String(s)} className="radio">
              <span className="dot" aria-hidden="true" />
              {t(`tokenForm.graces.${s}`)}
            </Radio>
          ))}
        </div>
      </RadioGroup>
      <ErrorMessage error={roll.error} />
      <div className="button-row end">
        <Button onPress={close}>{t('common.cancel')}</Button>
        <Button variant="primary" onPress={() => roll.mutate()} isPending={roll.isPending}>
          {t('tokenForm.roll')}
        </Button>
      </div>
    </>
  );
}
