import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Member, type Resource, unwrap } from '../../api/client';
import { useModel } from '../../model';
import { useMe } from '../../session';

/** One page of resources as the API pages them. */
export interface ResourcePageData {
  items: Resource[];
  nextCursor: string | null;
}

/** The key of one page of a level of the tree: '' is the caller's entry points, else a resource's children. */
export function levelPageKey(parentId: string, cursor: string | null) {
  return parentId === ''
    ? (['resources', 'entry-points', cursor ?? ''] as const)
    : (['resources', 'children', parentId, cursor ?? ''] as const);
}

function fetchLevelPage(parentId: string, cursor: string | null): Promise<ResourcePageData> {
  const query = cursor ? { cursor } : {};
  return parentId === ''
    ? unwrap(api.GET('/api/v1.0/resources', { params: { query } }))
    : unwrap(api.GET('/api/v1.0/resources/{id}/children', { params: { path: { id: parentId }, query } }));
}

/** What the tree knows of one level: the resources loaded so far and whether more pages wait. */
export interface TreeLevel {
  items: Resource[];
  isLoading: boolean;
  error: unknown;
  hasMore: boolean;
  loaded: boolean;
}

/**
 * The levels of the resource tree that are open: the entry points always, and the children of each
 * expanded resource, loaded when first opened. Each level's pages are separate queries chained by
 * their cursors, so invalidating ['resources'] refreshes everything shown.
 */
export function useResourceTree(expanded: readonly string[]) {
  const client = useQueryClient();
  const [wanted, setWanted] = useState<Record<string, number>>({});
  const parents = ['', ...expanded];
  const specs: { parentId: string; cursor: string | null }[] = [];
  for (const parentId of parents) {
    let cursor: string | null = null;
    for (let i = 0; i < (wanted[parentId] ?? 1); i++) {
      if (i > 0) {
        const previous: ResourcePageData | undefined = client.getQueryData(levelPageKey(parentId, cursor));
        if (!previous?.nextCursor) break;
        cursor = previous.nextCursor;
      }
      specs.push({ parentId, cursor });
    }
  }
  const results = useQueries({
    queries: specs.map(({ parentId, cursor }) => ({
      queryKey: levelPageKey(parentId, cursor),
      queryFn: () => fetchLevelPage(parentId, cursor),
    })),
  });
  const levels = new Map<string, TreeLevel>();
  specs.forEach(({ parentId }, i) => {
    const result = results[i]!;
    const level = levels.get(parentId) ?? { items: [], isLoading: false, error: null, hasMore: false, loaded: true };
    level.items = level.items.concat(result.data?.items ?? []);
    level.isLoading ||= result.isPending;
    level.error ??= result.error;
    level.loaded &&= result.isSuccess;
    level.hasMore = Boolean(result.data?.nextCursor);
    levels.set(parentId, level);
  });
  const loadMore = useCallback(
    (parentId: string) => setWanted((w) => ({ ...w, [parentId]: (w[parentId] ?? 1) + 1 })),
    [],
  );
  return { levels, loadMore };
}

/** A value that follows `value` once it has stopped changing for `ms` (for search as you type). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Resources in the caller's reach whose name contains q, each with its path. */
export function useResourceSearch(q: string) {
  return useQuery({
    queryKey: ['resources', 'search', q],
    queryFn: () => unwrap(api.GET('/api/v1.0/resources', { params: { query: { q, limit: 50 } } })),
    enabled: q.length > 0,
  });
}

/** A resource with its path. */
export function useResource(id: string) {
  return useQuery({
    queryKey: ['resource', id],
    queryFn: () => unwrap(api.GET('/api/v1.0/resources/{id}', { params: { path: { id } } })),
  });
}

/** People and tokens on a resource, as its Users tab lists them. */
export function useMembers(resourceId: string) {
  return useQuery({
    queryKey: ['members', resourceId],
    queryFn: async () =>
      (await unwrap(api.GET('/api/v1.0/resources/{id}/members', { params: { path: { id: resourceId } } }))).items,
    retry: false,
  });
}

/**
 * What the signed-in user may do on a resource, to decide which controls to offer: every permission
 * for administrators, else those of the role the members list shows for them. The API still decides;
 * a refusal is shown where it happens.
 */
export function useMyPermissions(members: readonly Member[] | undefined): ReadonlySet<string> {
  const me = useMe().data;
  const model = useModel().data;
  if (!me || !model) return new Set();
  if (me.systemRole === 'admin') return new Set(model.permissions.map((p) => p.name));
  const mine = members?.find((m) => m.kind === 'user' && m.id === me.id);
  return new Set(model.levels.find((l) => l.name === mine?.role)?.permissions ?? []);
}

/** A resource type's name in the user's language (configured types without a translation keep their name). */
export function useTypeLabel() {
  const { t } = useTranslation();
  return (type: string) => t(`resources.types.${type}`, { defaultValue: type });
}

/** A role's (permission level's) name in the user's language. */
export function useRoleLabel() {
  const { t } = useTranslation();
  return (role: string | null) =>
    role === null ? t('members.custom') : t(`members.roles.${role}`, { defaultValue: role });
}

/** After a change to the tree: every list, search and resource shown is asked again. */
export function useInvalidateTree() {
  const client = useQueryClient();
  return () =>
    Promise.all([
      client.invalidateQueries({ queryKey: ['resources'] }),
      client.invalidateQueries({ queryKey: ['resource'] }),
    ]);
}
