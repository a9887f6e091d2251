import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Form } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formErrors } from '../../api/errors';
import { AppDialog, Button, ErrorMessage, SelectField, TextField } from '../../components/ui';
import { useModel } from '../../model';
import { useInvalidateTree, useTypeLabel } from './data';

/** The types a resource may have under `parentType` (null: at the top). */
export function typesUnder(
  resourceTypes: readonly { name: string; parents: (string | null)[] }[],
  parentType: string | null,
): string[] {
  return resourceTypes.filter((rt) => rt.parents.includes(parentType)).map((rt) => rt.name);
}

/** Creates a resource under `parent` (or at the top, for administrators), of a type allowed there. */
export function CreateResourceDialog({
  parent,
  isOpen,
  onClose,
}: {
  parent: { id: string; type: string; name: string } | null;
  isOpen: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const typeLabel = useTypeLabel();
  const navigate = useNavigate();
  const invalidate = useInvalidateTree();
  const types = typesUnder(useModel().data?.resourceTypes ?? [], parent?.type ?? null);
  const [type, setType] = useState<string | null>(null);
  const [name, setName] = useState('');
  const chosen = type ?? types[0] ?? null;
  const create = useMutation({
    mutationFn: () =>
      unwrap(api.POST('/api/v1.0/resources', { body: { type: chosen ?? '', name, parentId: parent?.id ?? null } })),
    onSuccess: async (created) => {
      await invalidate();
      close();
      void navigate(`/resources/${created.id}`);
    },
  });
  const { validationErrors, formError } = formErrors(t, create.error, ['type', 'name']);
  const close = () => {
    create.reset();
    setName('');
    setType(null);
    onClose();
  };
  return (
    <AppDialog
      title={parent ? t('resources.createUnder', { name: parent.name }) : t('resources.createTop')}
      isOpen={isOpen}
      onOpenChange={(open) => !open && close()}
    >
      <Form
        validationErrors={validationErrors}
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        {types.length === 0 ? (
          <p>{t('resources.noTypesHere')}</p>
        ) : (
          <>
            <SelectField
              label={t('resources.type')}
              name="type"
              choices={types.map((id) => ({ id, label: typeLabel(id) }))}
              value={chosen}
              onChange={setType}
            />
            <TextField label={t('resources.name')} name="name" value={name} onChange={setName} isRequired autoFocus />
          </>
        )}
        <ErrorMessage text={formError} />
        <div className="button-row end">
          <Button onPress={close}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" isDisabled={types.length === 0 || create.isPending}>
            {t('resources.create')}
          </Button>
        </div>
      </Form>
    </AppDialog>
  );
}
