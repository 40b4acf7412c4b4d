import { ErrorLine } from "../../components/ErrorLine";
import type { OperationTracker } from "./useOperation";
import { isFinished } from "./useOperation";

/**
 * An operation's progress where it was asked for: a progress bar with its last log line, a
 * Cancel button while the server allows it, and the server's sentence if it failed.
 */
export function OperationProgress({ tracker, label }: { tracker: OperationTracker; label: string }) {
  const { operation, error } = tracker;
  const running = operation !== null && !isFinished(operation);
  const percent = Math.round((operation?.progress ?? 0) * 100);
  const lastLine = operation?.log?.[operation.log.length - 1];
  return (
    <div className="operation-progress" aria-live="polite">
      {running && (
        <div className="actions">
          <progress max={100} value={percent} aria-label={`${label} progress`} />
          <span>{percent}%</span>
          {lastLine && <span className="muted">{lastLine.replace(/^\d\d:\d\d:\d\d /, "")}</span>}
          {operation.mayCancel && (
            <button type="button" onClick={() => void tracker.cancel()}>
              Cancel
            </button>
          )}
        </div>
      )}
      {operation?.status === "succeeded" && <p role="status">{label}: done.</p>}
      <ErrorLine error={error} />
    </div>
  );
}
