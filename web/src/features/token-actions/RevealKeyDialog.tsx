import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, type Token, unwrap } from '../../api/client';
import { AppDialog, Button, ErrorMessage } from '../../components/ui';
import { KeyReveal } from './KeyReveal';

/** Shows a recoverable key again (the owner only; the server records it in the audit trail). */
export function RevealKeyDialog({ token, isOpen, onClose }: { token: Token; isOpen: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <AppDialog
      title={t('tokenForm.revealTitle', { name: token.name })}
      isOpen={isOpen}
      onOpenChange={(open) => !open && onClose()}
    >
      {(close) => <RevealSteps token={token} close={close} />}
    </AppDialog>
  );
}

function RevealSteps({ token, close }: { token: Token; close: () => void }) {
  const { t } = useTranslation();
  // Shown while the dialog is open, never cached: the mutation's answer is dropped at once.
  const [key, setKey] = useState<string | null>(null);
  const reveal = useMutation({
    gcTime: 0,
    mutationFn: () => unwrap(api.GET('/api/v1.0/tokens/{id}/key', { params: { path: { id: token.id } } })),
    onSuccess: (answer) => setKey(answer.key),
  });
  const notRecoverable =
    !token.recoverable || (reveal.error instanceof ApiError && reveal.error.code === 'KEY_NOT_RECOVERABLE');
  return (
    <>
      {key ? (
        <KeyReveal keyValue={key} />
      ) : notRecoverable ? (
        <p className="alert alert-info" role="alert">
          {t('tokenForm.notRecoverable')}
        </p>
      ) : (
        <>
          <p>{t('tokenForm.revealIntro')}</p>
          <ErrorMessage error={reveal.error} />
        </>
      )}
      <div className="button-row end">
        <Button onPress={close}>{t('common.close')}</Button>
        {!key && !notRecoverable && (
          <Button variant="primary" onPress={() => reveal.mutate()} isPending={reveal.isPending}>
            {t('tokenForm.reveal')}
          </Button>
        )}
      </div>
    </>
  );
}
