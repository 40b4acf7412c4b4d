import { useCallback, useEffect, useState } from "react";
import { api, call, type OperationInfo } from "../api/client";
import { useServerEvents } from "../api/events";
import { StateBadge } from "../components/StateBadge";
import { formatTime } from "../components/format";
import { ErrorLine } from "../components/ErrorLine";

/**
 * The tasks panel at the bottom: running and recent operations with their progress, kept
 * current by the event stream; one opens to its log, and a running one that may be cancelled
 * has a Cancel button. `target` limits it to one object (a VM's Tasks tab), `status` to one
 * status (the operations page's filter).
 */
export function TasksPanel({ target, status, compact }: { target?: string; status?: string; compact?: boolean }) {
  const [operations, setOperations] = useState<OperationInfo[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const page = await call(api.GET("/api/v1/operations", { params: { query: { pageSize: compact ? 8 : 50, target, status } } }));
      setOperations(page.items);
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [compact, target, status]);

  useEffect(() => {
    void load();
  }, [load]);

  useServerEvents((event) => {
    if (!event.type.startsWith("operation.") && event.type !== "resync") return;
    if (event.type === "operation.progress" && event.operationId) {
      // Progress of one operation: fetch just that one (its progress and log).
      void call(api.GET("/api/v1/operations/{id}", { params: { path: { id: event.operationId } } })).then(
        (updated) => setOperations((list) => list.map((o) => (o.id === updated.id ? updated : o))),
        () => undefined,
      );
      return;
    }
    void load();
  });

  return (
    <section className={compact ? "tasks compact" : "tasks"} aria-label="Tasks">
      <ErrorLine error={error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Operation</th>
            <th scope="col">Target</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {operations.map((operation) => (
            <OperationRow key={operation.id} operation={operation} open={open === operation.id} onToggle={() => setOpen(open === operation.id ? null : operation.id)} onChanged={load} />
          ))}
          {operations.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No operations yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function OperationRow({ operation, open, onToggle, onChanged }: { operation: OperationInfo; open: boolean; onToggle: () => void; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const running = operation.status === "running" || operation.status === "queued";
  const percent = Math.round((operation.progress ?? 0) * 100);
  async function cancel() {
    try {
      await call(api.DELETE("/api/v1/operations/{id}", { params: { path: { id: operation.id } } }));
      onChanged();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }
  return (
    <>
      <tr className={open ? "open" : undefined}>
        <td>{formatTime(operation.startedAt ?? operation.createdAt)}</td>
        <td>
          <button type="button" className="link" aria-expanded={open} onClick={onToggle}>
            {operation.kind}
          </button>
        </td>
        <td>{operation.target ?? "–"}</td>
        <td>
          <StateBadge state={operation.status} />
        </td>
        <td>
          <progress max={100} value={running || operation.status === "succeeded" ? percent : undefined} aria-label={`${operation.kind} progress`} /> {running ? `${percent}%` : ""}
        </td>
        <td>
          {running && operation.mayCancel && (
            <button type="button" onClick={cancel}>
              Cancel
            </button>
          )}
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={6}>
            <ErrorLine error={error ?? operation.error} />
            <pre className="log" aria-label={`Log of ${operation.kind}`}>
              {(operation.log ?? []).join("\n") || "(no log lines)"}
              {operation.result ? `\n${operation.result}` : ""}
            </pre>
          </td>
        </tr>
      )}
    </>
  );
}
