import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Form, GridList, GridListItem } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api, type Resource, unwrap } from '../../api/client';
import { formErrors } from '../../api/errors';
import { AppDialog, Button, ErrorMessage, Loading, TextField } from '../../components/ui';
import { CreateResourceDialog } from './CreateResourceDialog';
import { useInvalidateTree, useResourceTree, useTypeLabel } from './data';

/** Renames a resource. */
export function RenameResourceDialog({
  resource,
  isOpen,
  onClose,
}: {
  resource: Resource;
  isOpen: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const invalidate = useInvalidateTree();
  const [name, setName] = useState(resource.name);
  const rename = useMutation({
    mutationFn: () =>
      unwrap(api.PATCH('/api/v1.0/resources/{id}', { params: { path: { id: resource.id } }, body: { name } })),
    onSuccess: async () => {
      await invalidate();
      close();
    },
  });
  const { validationErrors, formError } = formErrors(t, rename.error, ['name']);
  const close = () => {
    rename.reset();
    onClose();
  };
  return (
    <AppDialog title={t('resources.renameTitle')} isOpen={isOpen} onOpenChange={(open) => !open && close()}>
      <Form
        validationErrors={validationErrors}
        onSubmit={(e) => {
          e.preventDefault();
          rename.mutate();
        }}
      >
        <TextField label={t('resources.name')} name="name" value={name} onChange={setName} isRequired autoFocus />
        <ErrorMessage text={formError} />
        <div className="button-row end">
          <Button onPress={close}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" isDisabled={rename.isPending}>
            {t('common.save')}
          </Button>
        </div>
      </Form>
    </AppDialog>
  );
}

/** Asks before deleting a resource (with its memberships and tokens); RESOURCE_NOT_EMPTY is said here. */
export function DeleteResourceDialog({
  resource,
  isOpen,
  onClose,
}: {
  resource: Resource;
  isOpen: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const invalidate = useInvalidateTree();
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v1.0/resources/{id}', { params: { path: { id: resource.id } } })),
    onSuccess: async () => {
      close();
      void navigate(resource.parentId ? `/resources/${resource.parentId}` : '/resources');
      await invalidate();
    },
  });
  const close = () => {
    remove.reset();
    onClose();
  };
  return (
    <AppDialog
      title={t('resources.deleteTitle')}
      size="small"
      isOpen={isOpen}
      onOpenChange={(open) => !open && close()}
    >
      <p>{t('resources.deleteConfirm', { name: resource.name })}</p>
      <ErrorMessage error={remove.error} />
      <div className="button-row end">
        <Button onPress={close}>{t('common.cancel')}</Button>
        <Button variant="danger" isDisabled={remove.isPending} onPress={() => remove.mutate()}>
          {t('common.delete')}
        </Button>
      </div>
    </AppDialog>
  );
}

/** The resources directly under this one, page by page, and (for those allowed) a new one here. */
export function ChildrenTab({ resource, mayWrite }: { resource: Resource; mayWrite: boolean }) {
  const { t } = useTranslation();
  const typeLabel = useTypeLabel();
  const { levels, loadMore } = useResourceTree([resource.id]);
  const level = levels.get(resource.id);
  const [creating, setCreating] = useState(false);
  return (
    <>
      {mayWrite && (
        <div className="toolbar">
          <Button variant="primary" onPress={() => setCreating(true)}>
            {t('resources.createHere')}
          </Button>
        </div>
      )}
      {level?.error ? <ErrorMessage error={level.error} /> : null}
      <GridList
        aria-label={t('resources.childrenOf', { name: resource.name })}
        className="child-list"
        items={level?.items ?? []}
        renderEmptyState={() => (level?.isLoading ? <Loading /> : <p className="muted">{t('resources.noChildren')}</p>)}
      >
        {(r) => (
          <GridListItem id={r.id} textValue={r.name} href={`/resources/${r.id}`} className="child-item">
            <span className="badge resource-type">{typeLabel(r.type)}</span> {r.name}
          </GridListItem>
        )}
      </GridList>
      {level?.hasMore && (
        <div className="button-row">
          <Button onPress={() => loadMore(resource.id)}>{t('common.loadMore')}</Button>
        </div>
      )}
      {mayWrite && <CreateResourceDialog parent={resource} isOpen={creating} onClose={() => setCreating(false)} />}
    </>
  );
}
