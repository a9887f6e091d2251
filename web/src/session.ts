import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, setCsrfToken, unwrap, type User } from './api/client';

/** The query key of "who am I": everything signed-in depends on it. */
export const ME = ['me'] as const;

/** The signed-in user, null when signed out (a 401 is an answer here, not an error). */
export function useMe() {
  return useQuery({
    queryKey: ME,
    queryFn: async (): Promise<User | null> => {
      try {
        const me = await unwrap(api.GET('/api/v1.0/me'));
        setCsrfToken(me.csrfToken);
        return me.kind === 'user' ? (me.user ?? null) : null;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          setCsrfToken(undefined);
          return null;
        }
        throw e;
      }
    },
    staleTime: 60_000,
  });
}

/** Signs in; on success the session cookie is set and every query starts over as that user. */
export function useSignIn() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; password: string }) => unwrap(api.POST('/api/v1.0/session', { body })),
    onSuccess: (session) => {
      setCsrfToken(session.csrfToken);
      client.clear();
      client.setQueryData(ME, session.user);
    },
  });
}

/** Signs out and forgets everything cached for the user who was signed in. */
export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v1.0/session')),
    onSettled: () => {
      setCsrfToken(undefined);
      client.clear();
      client.setQueryData(ME, null);
    },
  });
}
