import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { api, type Token, unwrap } from '../../api/client';
import type { paths } from '../../api/schema.gen';

/** What GET /tokens filters by (owner: administrators only; '*' for everyone). */
export type TokenQuery = Omit<NonNullable<paths['/api/v1.0/tokens']['get']['parameters']['query']>, 'cursor' | 'limit'>;

/** Rows fetched per page: enough to fill a screen or two, few enough to keep the DOM small. */
export const PAGE_SIZE = 50;

/** A cursor-paged token list: one page at a time, the next on demand, never the whole list at once. */
export function useTokenPages(query: TokenQuery) {
  const result = useInfiniteQuery({
    queryKey: ['tokens', query],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1.0/tokens', {
          params: { query: { ...query, limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const tokens: Token[] = result.data?.pages.flatMap((p) => p.items) ?? [];
  return { ...result, tokens };
}

/** A resource with its path, cached per resource: many tokens share a few resources. */
export function useResource(id: string | null) {
  return useQuery({
    queryKey: ['resource', id],
    queryFn: () => unwrap(api.GET('/api/v1.0/resources/{id}', { params: { path: { id: id as string } } })),
    enabled: id !== null,
    staleTime: 5 * 60_000,
  });
}

/** "Top / Team / Project": the names from the top of the caller's reach down to the resource itself. */
export function pathText(resource: { name: string; path?: { name: string }[] }): string {
  return [...(resource.path ?? []).map((p) => p.name), resource.name].join(' / ');
}
