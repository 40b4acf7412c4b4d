import type { AdminSection } from "../../routes";
import { adminTitles } from "../../layout/Shell";
import { TasksPanel } from "../../layout/TasksPanel";

// The sections other than operations are being built in parallel (issue 15).
export function AdminPage({ section }: { section: AdminSection }) {
  return (
    <section className="page" aria-label={adminTitles[section]}>
      <h1>{adminTitles[section]}</h1>
      {section === "operations" && <TasksPanel />}
    </section>
  );
}
