// Who is logged in. The session itself is an HttpOnly cookie the page
// cannot read: GET /api/auth/me answers for it, through the query cache
// like every other read (a 401 there only means "not logged in").
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { api, ApiError, User } from './api';
import { qk } from './queries';

export function useAuth() {
  const qc = useQueryClient();
  const me = useQuery({
    queryKey: qk.me,
    queryFn: async ({ signal }): Promise<User | null> => {
      try {
        return await api.me({ signal });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: Infinity,
  });

  // Someone else's session must not see the last one's data: every other
  // query goes when the user changes.
  const setUser = useCallback(
    (u: User | null) => {
      const was = qc.getQueryData<User | null>(qk.me);
      if (!u || (was && was.id !== u.id)) qc.removeQueries({ predicate: (q) => q.queryKey[0] !== qk.me[0] });
      qc.setQueryData(qk.me, u);
    },
    [qc],
  );

  const logout = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      setUser(null);
    }
  }, [setUser]);

  const { refetch } = me;
  const refresh = useCallback(async () => {
    await refetch();
  }, [refetch]);

  return {
    user: me.data ?? null,
    checking: me.isFetching,
    error: me.error ?? undefined,
    refresh,
    setUser,
    logout,
  };
}
