import { useState } from "react";
import { TasksPanel } from "../../layout/TasksPanel";

const statuses = ["", "queued", "running", "succeeded", "failed", "cancelled"] as const;

/** Every operation, full size, filtered by status and by target. */
export function OperationsSection() {
  const [status, setStatus] = useState("");
  const [target, setTarget] = useState("");
  return (
    <>
      <form className="filters" aria-label="Operation filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value)}>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </label>
        <label>
          Target
          <input type="search" value={target} onChange={(e) => setTarget(e.target.value)} placeholder="web1" />
        </label>
      </form>
      <TasksPanel status={status || undefined} target={target.trim() || undefined} />
    </>
  );
}
