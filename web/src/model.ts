import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from './api/client';
import type { paths } from './api/schema.gen';

/** What this keygate offers: resource types, permissions, levels, API groups and the token policy. */
export type Model = paths['/api/v1.0/model']['get']['responses'][200]['content']['application/json'];

/** The access model and token policy; it changes only with the server's configuration. */
export function useModel() {
  return useQuery({
    queryKey: ['model'],
    queryFn: () => unwrap(api.GET('/api/v1.0/model')),
    staleTime: Number.POSITIVE_INFINITY,
  });
}
