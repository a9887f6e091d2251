import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Tab, TabList, TabPanel, Tabs } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, ErrorMessage, Loading } from '../../components/ui';
import { CreateTokenDialog } from '../../features/token-form/CreateTokenDialog';

/** A resource: its Users tab lists people and tokens, and adds API tokens. (Placeholder to build on.) */
export default function ResourcePage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const [adding, setAdding] = useState(false);
  const resource = useQuery({
    queryKey: ['resource', id],
    queryFn: () => unwrap(api.GET('/api/v1.0/resources/{id}', { params: { path: { id } } })),
  });
  if (resource.isPending) return <Loading />;
  if (resource.isError) return <ErrorMessage error={resource.error} />;
  return (
    <>
      <h1>{resource.data.name}</h1>
      <Tabs>
        <TabList aria-label={resource.data.name} className="tabs">
          <Tab id="users">{t('members.tab')}</Tab>
        </TabList>
        <TabPanel id="users">
          <Button variant="primary" onPress={() => setAdding(true)}>
            {t('tokenForm.add')}
          </Button>
          <CreateTokenDialog
            resourceId={id}
            resourceName={resource.data.name}
            isOpen={adding}
            onClose={() => setAdding(false)}
          />
        </TabPanel>
      </Tabs>
    </>
  );
}
