import { useState, type FormEvent, type ReactNode } from "react";
import { useSession } from "../api/session";
import { useEventsConnected } from "../api/events";
import { adminSections, href, navigate, type Route } from "../routes";
import { ResourceTree } from "./ResourceTree";
import { TasksPanel } from "./TasksPanel";
import { useTheme } from "./theme";
import { LicenseBanner } from "../pages/admin/LicenseBanner";

const adminTitles: Record<(typeof adminSections)[number], string> = {
  operations: "Operations",
  audit: "Audit log",
  users: "Users",
  groups: "Groups",
  roles: "Roles",
  permissions: "Permissions",
  tokens: "API tokens",
  license: "Licence",
};

/** The frame of every page: header with search, the resource tree, the content, the tasks panel. */
export function Shell({ route, children }: { route: Route; children: ReactNode }) {
  const session = useSession();
  const connected = useEventsConnected();
  const [theme, setTheme] = useTheme();
  const [query, setQuery] = useState(route.page === "search" ? route.query : "");
  const [tasksOpen, setTasksOpen] = useState(true);
  const [treeOpen, setTreeOpen] = useState(true);

  function search(e: FormEvent) {
    e.preventDefault();
    navigate({ page: "search", query });
  }

  return (
    <div className={`shell${treeOpen ? "" : " tree-closed"}${tasksOpen ? "" : " tasks-closed"}`}>
      <header className="topbar">
        <button type="button" className="icon" aria-label={treeOpen ? "Hide the resource tree" : "Show the resource tree"} aria-expanded={treeOpen} onClick={() => setTreeOpen(!treeOpen)}>
          ☰
        </button>
        <a className="brand" href={href({ page: "home" })}>
          Vessel
        </a>
        <form role="search" onSubmit={search} className="search">
          <input type="search" aria-label="Search" placeholder="Search: name:web tag:prod state:running" value={query} onChange={(e) => setQuery(e.target.value)} />
        </form>
        <a className="button primary" href={href({ page: "create-vm" })}>
          Create VM
        </a>
        <details className="menu">
          <summary aria-label="Administration">Administration</summary>
          <ul>
            {adminSections.map((section) => (
              <li key={section}>
                <a href={href({ page: "admin", section })}>{adminTitles[section]}</a>
              </li>
            ))}
          </ul>
        </details>
        <button type="button" aria-label={theme === "dark" ? "Use the light theme" : "Use the dark theme"} onClick={() => setTheme(theme === "dark" ? "light" : "dark")}>
          {theme === "dark" ? "☀" : "☾"}
        </button>
        <span className="user" aria-label="Logged in as">
          {session.username}
        </span>
        <button type="button" onClick={() => void session.logout()}>
          Log out
        </button>
        <span className={connected ? "live on" : "live off"} role="status" aria-label={connected ? "Live updates connected" : "Live updates reconnecting"} title={connected ? "Live" : "Reconnecting"} />
      </header>
      {treeOpen && <ResourceTree route={route} />}
      <main className="content">
        {!(route.page === "admin" && route.section === "license") && <LicenseBanner />}
        {children}
      </main>
      <footer className="bottom">
        <button type="button" className="tasks-toggle" aria-expanded={tasksOpen} onClick={() => setTasksOpen(!tasksOpen)}>
          {tasksOpen ? "▾" : "▸"} Tasks
        </button>
        {tasksOpen && <TasksPanel compact />}
      </footer>
    </div>
  );
}

export { adminTitles };
