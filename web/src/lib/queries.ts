// Server state through TanStack Query: one cache for every page, keyed by
// resource, so a list one page fetched is on screen at once on the next;
// requests of a page that goes away are aborted; a write marks what it
// changed stale, and what is on screen refetches.
import { keepPreviousData, QueryClient, QueryKey, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, LogFilter } from './api';

export function newQueryClient() {
  return new QueryClient({
    defaultOptions: {
      // An error is shown in words at once, with a retry button; a 403
      // "change the password first" is not worth three more tries.
      queries: { retry: false, refetchOnWindowFocus: false },
      mutations: { retry: false },
    },
  });
}

// Groups and providers change only through the admin API, and every write
// made here invalidates them: another page may use them as they are for
// this long. Everything traffic changes (key health, client key usage,
// stats, logs) is refetched whenever a page showing it opens.
const CONFIG_FRESH_MS = 30_000;

export const qk = {
  me: ['me'] as const,
  groups: ['groups'] as const,
  providers: (groupId?: number) => ['providers', groupId ?? 'all'] as const,
  keys: (providerId?: number) => ['keys', providerId ?? 'all'] as const,
  clientKeys: ['client-keys'] as const,
  prices: ['prices'] as const,
  settings: ['settings'] as const,
  stats: (win: number) => ['stats', win] as const,
  timeseries: (win: number) => ['timeseries', win] as const,
  logs: (f: LogFilter) => ['logs', f] as const,
};

export function useGroups() {
  return useQuery({ queryKey: qk.groups, queryFn: ({ signal }) => api.groups({ signal }), staleTime: CONFIG_FRESH_MS });
}

// groupId 0 means "no group chosen yet": nothing is fetched.
export function useProviders(groupId?: number) {
  return useQuery({
    queryKey: qk.providers(groupId),
    queryFn: ({ signal }) => api.providers(groupId, { signal }),
    staleTime: CONFIG_FRESH_MS,
    enabled: groupId !== 0,
    placeholderData: keepPreviousData,
  });
}

export function useKeys(providerId?: number) {
  return useQuery({
    queryKey: qk.keys(providerId),
    queryFn: ({ signal }) => api.keys(providerId, { signal }),
    enabled: providerId !== 0,
    placeholderData: keepPreviousData,
  });
}

export function useClientKeys() {
  return useQuery({ queryKey: qk.clientKeys, queryFn: ({ signal }) => api.clientKeys({ signal }) });
}

export function usePrices() {
  return useQuery({ queryKey: qk.prices, queryFn: ({ signal }) => api.prices({ signal }) });
}

export function useStats(win: number) {
  return useQuery({ queryKey: qk.stats(win), queryFn: ({ signal }) => api.stats(win, { signal }), placeholderData: keepPreviousData });
}

export function useTimeseries(win: number) {
  return useQuery({
    queryKey: qk.timeseries(win),
    queryFn: ({ signal }) => api.timeseries(win, { signal }),
    placeholderData: keepPreviousData,
  });
}

// Settings come from the environment: they change only with a restart.
export function useSettings() {
  return useQuery({ queryKey: qk.settings, queryFn: ({ signal }) => api.settings({ signal }), staleTime: Infinity });
}

// `since` is seconds before the moment the page is fetched, so a refetch
// moves the window along.
export function useLogs(f: LogFilter & { sinceSeconds?: number }) {
  return useQuery({
    queryKey: qk.logs(f),
    queryFn: ({ signal }) => {
      const { sinceSeconds, ...rest } = f;
      const q: LogFilter = sinceSeconds ? { ...rest, since: Math.floor(Date.now() / 1000) - sinceSeconds } : rest;
      return api.logs(q, { signal });
    },
    placeholderData: keepPreviousData,
  });
}

// What each kind of write changes, by query key prefix. Deleting a group
// deletes its providers and their keys; any change moves the dashboard's
// counts.
export const changes = {
  group: [['groups'], ['providers'], ['keys'], ['stats']],
  provider: [['providers'], ['keys'], ['stats']],
  key: [['keys'], ['stats']],
  clientKey: [['client-keys'], ['stats']],
  price: [['prices']],
  // A provider test is a real request: key health, logs and stats move.
  providerTest: [['keys'], ['logs'], ['stats'], ['timeseries']],
  // A key test sets the key's health; a sync may change the models.
  keyTest: [['keys'], ['stats']],
  modelsSync: [['providers']],
  // A playground chat is traffic like any other.
  playground: [['keys'], ['logs'], ['stats'], ['timeseries']],
  // An import may create or change any configuration record.
  importConfig: [['groups'], ['providers'], ['keys'], ['client-keys'], ['stats']],
} satisfies Record<string, QueryKey[]>;

// A write through the admin API. When it settles, done or failed, the
// queries it changes are invalidated; mutateAsync resolves after those on
// screen have refetched, so a busy button stays busy until the list is
// current.
export function useWrite<V, R>(fn: (v: V) => Promise<R>, changed: QueryKey[]) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSettled: () => Promise.all(changed.map((queryKey) => qc.invalidateQueries({ queryKey }))),
  });
}
