import { useState } from 'react';
import { Input, Label, SearchField } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { Button } from '../../components/ui';
import { CreateResourceDialog } from '../../features/resources/CreateResourceDialog';
import { useDebounced } from '../../features/resources/data';
import { ResourceSearchResults } from '../../features/resources/ResourceSearch';
import { ResourceTree } from '../../features/resources/ResourceTree';
import { useMe } from '../../session';

/** The resource tree the user can reach, a search over all of it, and (administrators) new top-level resources. */
export default function ResourcesPage() {
  const { t } = useTranslation();
  const isAdmin = useMe().data?.systemRole === 'admin';
  const [q, setQ] = useState('');
  const settled = useDebounced(q.trim());
  const [creating, setCreating] = useState(false);
  return (
    <>
      <div className="page-header">
        <h1>{t('resources.title')}</h1>
        {isAdmin && (
          <Button variant="primary" onPress={() => setCreating(true)}>
            {t('resources.createTop')}
          </Button>
        )}
      </div>
      <search className="toolbar">
        <SearchField value={q} onChange={setQ} className="field search-field resource-search">
          <Label>{t('resources.search')}</Label>
          <Input placeholder={t('resources.searchPlaceholder')} />
        </SearchField>
      </search>
      {settled ? <ResourceSearchResults q={settled} /> : <ResourceTree />}
      {isAdmin && <CreateResourceDialog parent={null} isOpen={creating} onClose={() => setCreating(false)} />}
    </>
  );
}
