import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { api, call, setCsrfToken } from "./client";

export interface Session {
  username: string;
  logout: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a logged-in page");
  return session;
}

export const SessionProvider = SessionContext.Provider;

/** Takes up the session of the cookie after a reload or in a new window; null: log in first. */
export async function resumeSession(): Promise<string | null> {
  const answer = await api.GET("/api/v1/access/session");
  if (!answer.response.ok || !answer.data) return null;
  setCsrfToken(answer.data.csrfToken);
  return answer.data.username;
}

export async function login(username: string, password: string): Promise<string> {
  const session = await call(api.POST("/api/v1/access/login", { body: { username, password } }));
  setCsrfToken(session.csrfToken);
  return session.username;
}

export async function logout(): Promise<void> {
  await api.POST("/api/v1/access/logout");
  setCsrfToken(null);
}

/**
 * The caller's privileges on a path (`/vms/ID`, `/storage/default`, `/`): the UI shows only
 * the actions the server would allow (a VM user sees no delete button); the server decides.
 */
export function usePrivileges(path: string | null): ReadonlySet<string> | null {
  const [privileges, setPrivileges] = useState<ReadonlySet<string> | null>(null);
  useEffect(() => {
    if (path === null) return;
    let current = true;
    call(api.GET("/api/v1/access/permissions", { params: { query: { path } } })).then(
      (info) => current && setPrivileges(new Set(info.privileges)),
      () => current && setPrivileges(new Set()),
    );
    return () => {
      current = false;
    };
  }, [path]);
  return privileges;
}

export function SessionGate({ children, login: loginPage }: { children: (username: string) => ReactNode; login: (done: (username: string) => void) => ReactNode }) {
  const [username, setUsername] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    resumeSession().then(setUsername, () => setUsername(null));
  }, []);
  if (username === undefined) return <p className="loading">Loading…</p>;
  if (username === null) return <>{loginPage(setUsername)}</>;
  return <>{children(username)}</>;
}
