import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, type Token, unwrap } from '../../api/client';
import { AppDialog, Button, ErrorMessage } from '../../components/ui';

/** Asks to confirm, naming the token, then deletes it; its key stops working at once. */
export function DeleteTokenDialog({ token, isOpen, onClose }: { token: Token; isOpen: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v1.0/tokens/{id}', { params: { path: { id: token.id } } })),
    onSuccess: () => {
      client.removeQueries({ queryKey: ['token', token.id] });
      void client.invalidateQueries({ queryKey: ['tokens'] });
      if (token.resourceId) void client.invalidateQueries({ queryKey: ['members', token.resourceId] });
      onClose();
    },
  });
  return (
    <AppDialog
      title={t('tokenForm.deleteTitle')}
      isOpen={isOpen}
      onOpenChange={(open) => !open && onClose()}
      size="small"
    >
      {(close) => (
        <>
          <p>{t('tokenForm.deleteConfirm', { name: token.name })}</p>
          <ErrorMessage error={remove.error} />
          <div className="button-row end">
            <Button onPress={close}>{t('common.cancel')}</Button>
            <Button variant="danger" onPress={() => remove.mutate()} isPending={remove.isPending}>
              {t('common.delete')}
            </Button>
          </div>
        </>
      )}
    </AppDialog>
  );
}
