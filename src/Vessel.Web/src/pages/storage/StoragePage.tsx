import { useState } from "react";
import { api, call } from "../../api/client";
import { useServerEvents } from "../../api/events";
import { useInventory } from "../../api/inventory";
import { usePrivileges } from "../../api/session";
import { ErrorLine } from "../../components/ErrorLine";
import { formatBytes } from "../../components/format";
import { useAsync } from "../../components/useAsync";
import { href } from "../../routes";
import { CopyVolumeDialog, CreateVolumeDialog, ResizeVolumeDialog, UploadVolumeDialog } from "./VolumeDialogs";
import type { VolumeInfo } from "./upload";

type Dialog = { kind: "create" } | { kind: "upload" } | { kind: "resize"; volume: VolumeInfo } | { kind: "copy"; volume: VolumeInfo } | null;

/**
 * A storage pool: its capacity and its volumes (format, sizes, backing, users), with what a
 * user does to them: create an empty one, upload a disk image or an ISO from the browser (with
 * progress and Cancel), resize, copy and delete. Lists follow the event stream: an operation
 * that finishes (an import, a copy, a VM made or deleted) reloads them.
 */
export function StoragePage({ name }: { name: string }) {
  const inventory = useInventory();
  const pool = useAsync(() => call(api.GET("/api/v1/pools/{pool}", { params: { path: { pool: name } } })), [name]);
  const volumes = useAsync(() => call(api.GET("/api/v1/pools/{pool}/volumes", { params: { path: { pool: name }, query: { pageSize: 1000 } } })), [name]);
  const privileges = usePrivileges(`/storage/${name}`);
  const mayAllocate = privileges?.has("Datastore.AllocateSpace") ?? false;
  const [dialog, setDialog] = useState<Dialog>(null);
  const [error, setError] = useState<{ volume: string; sentence: string } | null>(null);

  function reload() {
    pool.reload();
    volumes.reload();
    inventory.refresh();
  }

  useServerEvents((event) => {
    if (event.type === "resync" || event.type === "operation.finished" || event.type.startsWith("vm.created") || event.type.startsWith("vm.deleted")) {
      pool.reload();
      volumes.reload();
    }
  });

  async function remove(volume: VolumeInfo) {
    if (!window.confirm(`Delete volume ${volume.pool}/${volume.name} and its data?`)) return;
    setError(null);
    try {
      await call(api.DELETE("/api/v1/pools/{pool}/volumes/{volume}", { params: { path: { pool: volume.pool, volume: volume.name } } }));
      reload();
    } catch (e) {
      setError({ volume: volume.name, sentence: e instanceof Error ? e.message : String(e) });
    }
  }

  const info = pool.data;
  const usedPercent = info && info.capacityBytes > 0 ? Math.round(((info.capacityBytes - info.availableBytes) / info.capacityBytes) * 100) : 0;
  return (
    <section className="page" aria-label={`Storage ${name}`}>
      <header className="page-header">
        <h1>Storage pool {name}</h1>
        {mayAllocate && (
          <div className="actions">
            <button type="button" onClick={() => setDialog({ kind: "create" })}>
              New volume
            </button>
            <button type="button" className="primary" onClick={() => setDialog({ kind: "upload" })}>
              Upload
            </button>
          </div>
        )}
      </header>
      <ErrorLine error={pool.error} />
      {info && (
        <dl className="facts" aria-label="Capacity">
          <dt>Host</dt>
          <dd>{info.shared ? "every host (shared)" : (info.host ?? "—")}</dd>
          <dt>Path</dt>
          <dd>{info.path}</dd>
          <dt>Capacity</dt>
          <dd>
            <meter min={0} max={100} value={usedPercent} high={90} aria-label="Space used" /> {formatBytes(info.capacityBytes - info.availableBytes)} used of {formatBytes(info.capacityBytes)} ({formatBytes(info.availableBytes)} free)
          </dd>
          <dt>Allocated to volumes</dt>
          <dd>
            {formatBytes(info.allocatedBytes)} in {info.volumes} volume{info.volumes === 1 ? "" : "s"}
          </dd>
        </dl>
      )}
      <h2>Volumes</h2>
      <ErrorLine error={volumes.error} />
      <div className="table-scroll">
        <table aria-label="Volumes">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Format</th>
              <th scope="col">Size</th>
              <th scope="col">Allocated</th>
              <th scope="col">Backing</th>
              <th scope="col">Used by</th>
              {mayAllocate && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {(volumes.data?.items ?? []).map((volume) => (
              <tr key={volume.name}>
                <td>
                  {volume.name}
                  {volume.readOnly && <span className="muted"> (read-only)</span>}
                </td>
                <td>{volume.format}</td>
                <td>{formatBytes(volume.virtualBytes)}</td>
                <td>{formatBytes(volume.allocatedBytes)}</td>
                <td>{volume.backing ?? "–"}</td>
                <td>
                  {volume.usedBy.length === 0
                    ? "–"
                    : volume.usedBy.map((user, i) => (
                        <span key={user}>
                          {i > 0 && ", "}
                          {inventory.vms.some((vm) => vm.name === user) || inventory.templates.some((vm) => vm.name === user) ? <a href={href({ page: "vm", name: user, tab: "summary" })}>{user}</a> : user}
                        </span>
                      ))}
                </td>
                {mayAllocate && (
                  <td>
                    <div className="actions">
                      {volume.format !== "iso" && !volume.readOnly && (
                        <button type="button" aria-label={`Resize ${volume.name}`} onClick={() => setDialog({ kind: "resize", volume })}>
                          Resize
                        </button>
                      )}
                      <button type="button" aria-label={`Copy ${volume.name}`} onClick={() => setDialog({ kind: "copy", volume })}>
                        Copy
                      </button>
                      <button type="button" className="danger" aria-label={`Delete ${volume.name}`} onClick={() => remove(volume)}>
                        Delete
                      </button>
                    </div>
                    {error?.volume === volume.name && <ErrorLine error={error.sentence} />}
                  </td>
                )}
              </tr>
            ))}
            {volumes.data && volumes.data.items.length === 0 && (
              <tr>
                <td colSpan={7} className="muted">
                  No volumes yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {dialog?.kind === "create" && <CreateVolumeDialog pool={name} onClose={() => setDialog(null)} onDone={reload} />}
      {dialog?.kind === "upload" && <UploadVolumeDialog pool={name} onClose={() => setDialog(null)} onDone={reload} />}
      {dialog?.kind === "resize" && <ResizeVolumeDialog volume={dialog.volume} onClose={() => setDialog(null)} onDone={reload} />}
      {dialog?.kind === "copy" && <CopyVolumeDialog volume={dialog.volume} pools={inventory.pools.map((p) => p.name)} onClose={() => setDialog(null)} onDone={reload} />}
    </section>
  );
}
