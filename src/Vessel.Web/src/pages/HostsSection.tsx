import { api, call, type OperationInfo } from "../api/client";
import { useServerEvents } from "../api/events";
import { useAsync } from "../components/useAsync";
import { ErrorLine } from "../components/ErrorLine";
import { formatBytes } from "../components/format";
import { OperationProgress } from "./vm/OperationProgress";
import { useOperation } from "./vm/useOperation";

/**
 * The hosts this manager drives (the manager's own and its agents'), with their live capacity
 * and state, and maintenance mode: entering migrates the host's running VMs away (an operation,
 * followed here) and it shows "ready" once empty; exiting brings it back. Only for callers who
 * may see hosts (Sys.Audit); a refusal hides the section.
 */
export function HostsSection() {
  const hosts = useAsync(() => call(api.GET("/api/v1/hosts")), []);
  useServerEvents((event) => {
    if (event.targetKind === "host" || event.type === "vm.migrated" || event.type === "vm.state") hosts.reload();
  });
  const tracker = useOperation();
  if (!hosts.data) return null;
  const enter = (name: string) =>
    void tracker
      .run(() => call(api.POST("/api/v1/hosts/{host}/maintenance", { params: { path: { host: name } } })) as Promise<OperationInfo>)
      .then(() => hosts.reload());
  const exit = (name: string) => void call(api.DELETE("/api/v1/hosts/{host}/maintenance", { params: { path: { host: name } } })).then(hosts.reload, hosts.reload);
  return (
    <>
      <h2>Hosts</h2>
      <ErrorLine error={hosts.error} />
      <div className="table-scroll">
        <table aria-label="Hosts">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Running VMs</th>
              <th scope="col">Memory free</th>
              <th scope="col">Harts</th>
              <th scope="col">Load</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {hosts.data.map((h) => (
              <tr key={h.id}>
                <td>
                  {h.name}
                  {h.local && <span className="muted"> (manager)</span>}
                </td>
                <td>{h.maintenance ? `${h.state} (${h.maintenance})` : h.state}</td>
                <td>{h.runningVms}</td>
                <td>
                  {formatBytes(h.memoryAvailableBytes)} of {formatBytes(h.memoryTotalBytes)}
                </td>
                <td>{h.harts}</td>
                <td>{h.loadAverage.toFixed(2)}</td>
                <td>
                  {h.state === "maintenance" ? (
                    <button type="button" onClick={() => exit(h.name)}>
                      Exit maintenance
                    </button>
                  ) : (
                    <button type="button" disabled={tracker.busy || h.state !== "up"} onClick={() => enter(h.name)}>
                      Enter maintenance
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {(tracker.busy || tracker.error) && <OperationProgress tracker={tracker} label="Maintenance" />}
    </>
  );
}
