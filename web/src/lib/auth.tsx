// Who is logged in. The session itself is an HttpOnly cookie the page
// cannot read: GET /api/auth/me answers for it.
import { createContext, ReactNode, useCallback, useContext, useEffect, useState } from 'react';
import { api, ApiError, User } from './api';

interface Auth {
  user: User | null;
  checking: boolean;
  error: unknown;
  refresh: () => Promise<void>;
  setUser: (u: User | null) => void;
  logout: () => Promise<void>;
}

const Ctx = createContext<Auth>({
  user: null,
  checking: true,
  error: undefined,
  refresh: async () => {},
  setUser: () => {},
  logout: async () => {},
});

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [checking, setChecking] = useState(true);
  const [error, setError] = useState<unknown>(undefined);

  const refresh = useCallback(async () => {
    setChecking(true);
    try {
      setUser(await api.me());
      setError(undefined);
    } catch (e) {
      setUser(null);
      // 401 only means "not logged in"; anything else is worth showing.
      setError(e instanceof ApiError && e.status === 401 ? undefined : e);
    } finally {
      setChecking(false);
    }
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      setUser(null);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return <Ctx.Provider value={{ user, checking, error, refresh, setUser, logout }}>{children}</Ctx.Provider>;
}

export const useAuth = () => useContext(Ctx);
