import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { ErrorMessage } from '../../components/ui';
import { useResourceSearch, useTypeLabel } from './data';

/** Resources whose name contains `q`, each with the path to it as breadcrumbs. */
export function ResourceSearchResults({ q }: { q: string }) {
  const { t } = useTranslation();
  const typeLabel = useTypeLabel();
  const found = useResourceSearch(q);
  if (found.isError) return <ErrorMessage error={found.error} />;
  const items = found.data?.items ?? [];
  return (
    <section aria-labelledby="search-results-heading" aria-busy={found.isFetching}>
      <h2 id="search-results-heading">{t('resources.results', { q })}</h2>
      <p role="status" className="muted">
        {found.isPending ? t('app.loading') : t('resources.found', { count: items.length })}
      </p>
      <ul className="search-results">
        {items.map((r) => (
          <li key={r.id} className="card search-result">
            {(r.path ?? []).length > 0 && (
              <nav aria-label={t('resources.pathOf', { name: r.name })}>
                <ol className="breadcrumbs">
                  {(r.path ?? []).map((step) => (
                    <li key={step.id}>
                      <Link to={`/resources/${step.id}`}>{step.name}</Link>
                    </li>
                  ))}
                </ol>
              </nav>
            )}
            <span className="badge resource-type">{typeLabel(r.type)}</span>{' '}
            <Link to={`/resources/${r.id}`} className="search-result-name">
              {r.name}
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}
