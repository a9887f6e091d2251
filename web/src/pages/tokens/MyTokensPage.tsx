import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorMessage, Loading } from '../../components/ui';
import { useTokenPages } from '../../features/token-list/queries';
import {
  ExpiringSoonSwitch,
  type StateFilter,
  StateSelect,
  stateExpiryQuery,
} from '../../features/token-list/TokenFilters';
import { LoadMore, TokenTable } from '../../features/token-list/TokenTable';

/** "My API tokens": the signed-in user's own tokens, a page at a time; a row opens the token's page. */
export default function MyTokensPage() {
  const { t } = useTranslation();
  const [state, setState] = useState<StateFilter>('all');
  const [soonSince, setSoonSince] = useState<number | null>(null);
  const query = useMemo(() => stateExpiryQuery(state, soonSince !== null, soonSince ?? 0), [state, soonSince]);
  const list = useTokenPages(query);
  return (
    <section>
      <div className="page-header">
        <h1>{t('tokens.title')}</h1>
      </div>
      <p className="muted">{t('tokens.intro')}</p>
      <div className="toolbar token-filters">
        <StateSelect value={state} onChange={setState} />
        <ExpiringSoonSwitch value={soonSince !== null} onChange={(on) => setSoonSince(on ? Date.now() : null)} />
      </div>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorMessage error={list.error} />
      ) : (
        <>
          <TokenTable tokens={list.tokens} label={t('tokens.title')} />
          <LoadMore
            shown={list.tokens.length}
            hasMore={list.hasNextPage}
            loading={list.isFetchingNextPage}
            onLoadMore={() => void list.fetchNextPage()}
          />
        </>
      )}
    </section>
  );
}
