import { useState } from 'react';
import { Tab, TabList, TabPanel, Tabs } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { Button, ErrorMessage, Loading } from '../../components/ui';
import { useMembers, useMyPermissions, useResource, useTypeLabel } from '../../features/resources/data';
import { MembersTab } from '../../features/resources/MembersTab';
import { ChildrenTab, DeleteResourceDialog, RenameResourceDialog } from '../../features/resources/ResourceActions';
import '../../features/resources/resources.css';

/** A resource: where it sits, its Users tab (people and API tokens) first, and what lies under it. */
export default function ResourcePage() {
  const { t } = useTranslation();
  const typeLabel = useTypeLabel();
  const { id = '' } = useParams();
  const resource = useResource(id);
  const mine = useMyPermissions(useMembers(id).data);
  const [renaming, setRenaming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  if (resource.isPending) return <Loading />;
  if (resource.isError) return <ErrorMessage error={resource.error} />;
  const r = resource.data;
  return (
    <>
      <nav aria-label={t('resources.breadcrumbs')}>
        <ol className="breadcrumbs">
          <li>
            <Link to="/resources">{t('resources.title')}</Link>
          </li>
          {(r.path ?? []).map((step) => (
            <li key={step.id}>
              <Link to={`/resources/${step.id}`}>{step.name}</Link>
            </li>
          ))}
          <li aria-current="page">{r.name}</li>
        </ol>
      </nav>
      <div className="page-header">
        <h1 className="resource-heading">
          <span className="badge resource-type">{typeLabel(r.type)}</span> <span>{r.name}</span>
        </h1>
        <div className="button-row">
          {mine.has('resources:write') && <Button onPress={() => setRenaming(true)}>{t('resources.rename')}</Button>}
          {mine.has('resources:delete') && (
            <Button variant="danger" onPress={() => setDeleting(true)}>
              {t('common.delete')}
            </Button>
          )}
        </div>
      </div>
      <Tabs>
        <TabList aria-label={t('resources.tabsLabel', { name: r.name })} className="tabs">
          <Tab id="users">{t('members.tab')}</Tab>
          <Tab id="children">{t('resources.childrenTab')}</Tab>
        </TabList>
        <TabPanel id="users">
          <MembersTab resource={r} />
        </TabPanel>
        <TabPanel id="children">
          <ChildrenTab resource={r} mayWrite={mine.has('resources:write')} />
        </TabPanel>
      </Tabs>
      {renaming && <RenameResourceDialog resource={r} isOpen onClose={() => setRenaming(false)} />}
      <DeleteResourceDialog resource={r} isOpen={deleting} onClose={() => setDeleting(false)} />
    </>
  );
}
