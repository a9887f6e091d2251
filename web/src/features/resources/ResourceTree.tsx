import { useState, type ReactNode } from 'react';
import { Button, type Key, Tree, TreeItem, TreeItemContent } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { errorText } from '../../api/errors';
import { useResourceTree, useTypeLabel } from './data';
import './resources.css';

/**
 * The resources the user can reach, as a tree: the entry points first, each resource's children
 * loaded when it is opened (arrow right, or its chevron), page by page. Enter opens a resource's page.
 */
export function ResourceTree() {
  const { t } = useTranslation();
  const typeLabel = useTypeLabel();
  const [expanded, setExpanded] = useState<string[]>([]);
  const { levels, loadMore } = useResourceTree(expanded);

  // Status rows (loading, failed, more, empty) are tree items too, so the keyboard reaches them.
  const statusItems = (parentId: string): ReactNode[] => {
    const level = levels.get(parentId);
    if (!level) return [];
    const rows: ReactNode[] = [];
    if (level.error)
      rows.push(
        <TreeItem
          key="error"
          id={`error:${parentId}`}
          textValue={errorText(t, level.error)}
          className="tree-item tree-status"
        >
          <TreeItemContent>
            <span role="alert" className="tree-error">
              {errorText(t, level.error)}
            </span>
          </TreeItemContent>
        </TreeItem>,
      );
    else if (level.isLoading)
      rows.push(
        <TreeItem
          key="loading"
          id={`loading:${parentId}`}
          textValue={t('app.loading')}
          className="tree-item tree-status"
        >
          <TreeItemContent>
            <span className="muted">{t('app.loading')}</span>
          </TreeItemContent>
        </TreeItem>,
      );
    else if (level.hasMore)
      rows.push(
        <TreeItem
          key="more"
          id={`more:${parentId}`}
          textValue={t('common.loadMore')}
          className="tree-item tree-more"
          onAction={() => loadMore(parentId)}
        >
          <TreeItemContent>
            <span className="tree-more-label">{t('common.loadMore')}</span>
          </TreeItemContent>
        </TreeItem>,
      );
    else if (parentId !== '' && level.items.length === 0)
      rows.push(
        <TreeItem
          key="empty"
          id={`empty:${parentId}`}
          textValue={t('resources.noChildren')}
          className="tree-item tree-status"
        >
          <TreeItemContent>
            <span className="muted">{t('resources.noChildren')}</span>
          </TreeItemContent>
        </TreeItem>,
      );
    return rows;
  };

  const items = (parentId: string): ReactNode[] => [
    ...(levels.get(parentId)?.items ?? []).map((r) => {
      const open = expanded.includes(r.id);
      return (
        <TreeItem
          key={r.id}
          id={r.id}
          textValue={r.name}
          href={`/resources/${r.id}`}
          hasChildItems
          className="tree-item"
        >
          <TreeItemContent>
            {({ isExpanded }) => (
              <div className="tree-row">
                <Button
                  slot="chevron"
                  className="tree-chevron"
                  aria-label={t(isExpanded ? 'resources.collapse' : 'resources.expand', { name: r.name })}
                >
                  <span aria-hidden="true">{isExpanded ? '▾' : '▸'}</span>
                </Button>
                <span className="badge resource-type">{typeLabel(r.type)}</span>
                <span className="tree-name">{r.name}</span>
              </div>
            )}
          </TreeItemContent>
          {open ? (
            items(r.id)
          ) : (
            // React Aria's keyboard expansion looks for child rows rather than hasChildItems: a
            // placeholder (never shown while closed) lets arrow right open a resource not loaded yet.
            <TreeItem id={`closed:${r.id}`} textValue={t('app.loading')} className="tree-item tree-status">
              <TreeItemContent>
                <span className="muted">{t('app.loading')}</span>
              </TreeItemContent>
            </TreeItem>
          )}
        </TreeItem>
      );
    }),
    ...statusItems(parentId),
  ];

  const roots = levels.get('');
  return (
    <Tree
      aria-label={t('resources.treeLabel')}
      className="resource-tree"
      expandedKeys={expanded}
      onExpandedChange={(keys: Set<Key>) => setExpanded([...keys].map(String).filter((k) => !k.includes(':')))}
      renderEmptyState={() => (
        <p className="muted tree-empty">{roots?.isLoading ? t('app.loading') : t('resources.none')}</p>
      )}
    >
      {items('')}
    </Tree>
  );
}
