import { describeStatus, type ConsoleStatus } from "./connection";

/**
 * A console's state in words (connecting, waiting, connected, detached with the server's
 * sentence), announced as it changes, with Reconnect once it is detached.
 */
export function ConsoleStatusLine({ status, onReconnect }: { status: ConsoleStatus; onReconnect: () => void }) {
  return (
    <div className="console-status">
      <span className={`console-dot console-${status.phase}`} aria-hidden="true" />
      <span role="status" aria-label="Console status">
        {describeStatus(status)}
      </span>
      {status.phase === "detached" && (
        <button type="button" onClick={onReconnect}>
          Reconnect
        </button>
      )}
    </div>
  );
}
