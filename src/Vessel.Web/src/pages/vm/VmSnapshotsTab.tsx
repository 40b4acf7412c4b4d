import { useState } from "react";
import { api, call } from "../../api/client";
import { useServerEvents } from "../../api/events";
import { snapshotNameNow } from "../../api/vmActions";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { formatTime } from "../../components/format";
import { useAsync } from "../../components/useAsync";
import { OperationProgress } from "./OperationProgress";
import { buildSnapshotTree, type SnapshotInfo, type SnapshotNode } from "./snapshotTree";
import { useOperation } from "./useOperation";
import type { VmTabProps } from "./VmPage";

const segment = encodeURIComponent;

/**
 * The VM's snapshot tree (parents and children, "Now" under the snapshot the VM stands on),
 * with take, revert and delete: each an operation whose progress shows in its dialog.
 */
export function VmSnapshotsTab({ vm, may }: VmTabProps) {
  const tree = useAsync(() => call(api.GET("/api/v1/vms/{vm}/snapshots", { params: { path: { vm: vm.name } } })), [vm.name]);
  const [dialog, setDialog] = useState<{ kind: "take" } | { kind: "revert" | "delete"; snapshot: SnapshotInfo } | null>(null);
  useServerEvents((event) => {
    if (event.type === "resync" || (event.targetKind === "vm" && event.target === vm.name && event.type === "operation.finished")) tree.reload();
  });
  const roots = tree.data ? buildSnapshotTree(tree.data.snapshots) : [];
  const actions = { may, open: (kind: "revert" | "delete", snapshot: SnapshotInfo) => setDialog({ kind, snapshot }) };

  return (
    <div className="snapshots">
      <div className="toolbar">
        {may("VM.Snapshot") && !vm.isTemplate && (
          <button type="button" className="primary" onClick={() => setDialog({ kind: "take" })}>
            Take snapshot
          </button>
        )}
        <span className="muted">{tree.data ? `${tree.data.snapshots.length} snapshot(s)` : ""}</span>
      </div>
      <ErrorLine error={tree.error} />
      {tree.data && (
        <ul role="tree" aria-label="Snapshot tree" className="snapshot-tree">
          {roots.map((node) => (
            <SnapshotItem key={node.snapshot.name} node={node} actions={actions} />
          ))}
          {tree.data.current === null && <NowItem state={vm.state} />}
        </ul>
      )}
      {dialog?.kind === "take" && <TakeSnapshotDialog vmName={vm.name} running={vm.state === "running" || vm.state === "paused"} onClose={() => setDialog(null)} onDone={tree.reload} />}
      {dialog && dialog.kind !== "take" && (
        <ConfirmSnapshotDialog vmName={vm.name} kind={dialog.kind} snapshot={dialog.snapshot} onClose={() => setDialog(null)} onDone={tree.reload} />
      )}
    </div>
  );
}

interface ItemActions {
  may: (privilege: string) => boolean;
  open: (kind: "revert" | "delete", snapshot: SnapshotInfo) => void;
}

function SnapshotItem({ node, actions }: { node: SnapshotNode; actions: ItemActions }) {
  const s = node.snapshot;
  return (
    <li role="treeitem" aria-label={s.name} aria-expanded={node.children.length > 0 || s.current ? true : undefined} aria-current={s.current ? "true" : undefined}>
      <div className={s.current ? "snapshot current" : "snapshot"}>
        <strong>{s.name}</strong>
        {s.current && <span className="badge">current</span>}
        {s.memory && <span className="badge" title="Reverting resumes the VM at this moment">with memory</span>}
        <span className="muted">
          {formatTime(s.createdAt)} · {s.vmState}
        </span>
        <span className="actions">
          {actions.may("VM.Snapshot.Rollback") && (
            <button type="button" aria-label={`Revert to ${s.name}`} onClick={() => actions.open("revert", s)}>
              Revert
            </button>
          )}
          {actions.may("VM.Snapshot") && (
            <button type="button" className="danger" aria-label={`Delete snapshot ${s.name}`} onClick={() => actions.open("delete", s)}>
              Delete
            </button>
          )}
        </span>
        {s.description && <span className="snapshot-description">{s.description}</span>}
      </div>
      {(node.children.length > 0 || s.current) && (
        <ul role="group">
          {node.children.map((child) => (
            <SnapshotItem key={child.snapshot.name} node={child} actions={actions} />
          ))}
          {s.current && <NowItem />}
        </ul>
      )}
    </li>
  );
}

/** Where the VM stands: after its current snapshot (or at the root when it has none). */
function NowItem({ state }: { state?: string }) {
  return (
    <li role="treeitem" aria-label="Now" className="snapshot-now">
      <span aria-hidden="true">▶</span> Now{state ? ` (${state})` : ""} — the VM as it is
    </li>
  );
}

function TakeSnapshotDialog({ vmName, running, onClose, onDone }: { vmName: string; running: boolean; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState(() => snapshotNameNow());
  const [description, setDescription] = useState("");
  const [memory, setMemory] = useState(running);
  const tracker = useOperation();
  const body = { name, description: description || undefined, memory: running && memory };
  const cli = ["snapshot", "create", vmName, name, ...(body.memory ? ["--memory"] : []), ...(description ? ["--description", description] : [])];

  async function take(e: React.FormEvent) {
    e.preventDefault();
    const ok = await tracker.run(() => call(api.POST("/api/v1/vms/{vm}/snapshots", { params: { path: { vm: vmName } }, body })));
    onDone();
    if (ok) onClose();
  }

  return (
    <Dialog title="Take a snapshot" onClose={onClose}>
      <form onSubmit={take}>
        <label>
          Name
          <input value={name} required onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <label>
          <input type="checkbox" checked={running && memory} disabled={!running} onChange={(e) => setMemory(e.target.checked)} />
          Include the memory (reverting resumes the VM at this moment)
        </label>
        {!running && <p className="muted">The VM is not running: the snapshot holds its disks.</p>}
        <OperationProgress tracker={tracker} label="Snapshot" />
        <div className="actions">
          <button type="submit" className="primary" disabled={tracker.busy || name.length === 0}>
            Take snapshot
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
        <ShowAsCommand call={{ method: "POST", path: `/api/v1/vms/${segment(vmName)}/snapshots`, body }} cli={cli} />
      </form>
    </Dialog>
  );
}

function ConfirmSnapshotDialog({ vmName, kind, snapshot, onClose, onDone }: { vmName: string; kind: "revert" | "delete"; snapshot: SnapshotInfo; onClose: () => void; onDone: () => void }) {
  const tracker = useOperation();
  const revert = kind === "revert";
  const path = `/api/v1/vms/${segment(vmName)}/snapshots/${segment(snapshot.name)}${revert ? "/revert" : ""}`;

  async function confirm() {
    const params = { path: { vm: vmName, snapshot: snapshot.name } };
    const ok = await tracker.run(() =>
      revert ? call(api.POST("/api/v1/vms/{vm}/snapshots/{snapshot}/revert", { params })) : call(api.DELETE("/api/v1/vms/{vm}/snapshots/{snapshot}", { params })),
    );
    onDone();
    if (ok) onClose();
  }

  return (
    <Dialog title={revert ? `Revert to snapshot ${snapshot.name}` : `Delete snapshot ${snapshot.name}`} onClose={onClose}>
      <p>
        {revert
          ? `${vmName} goes back to ${snapshot.name}: what changed on its disks${snapshot.memory ? " and in its memory" : ""} since then is lost.`
          : `The snapshot ${snapshot.name} is deleted; its children move up to its parent. The VM as it is now does not change.`}
      </p>
      <OperationProgress tracker={tracker} label={revert ? "Revert" : "Delete"} />
      <div className="actions">
        <button type="button" className={revert ? "primary" : "danger"} disabled={tracker.busy} onClick={() => void confirm()}>
          {revert ? "Revert" : "Delete"}
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
      <ShowAsCommand call={{ method: revert ? "POST" : "DELETE", path }} cli={["snapshot", revert ? "revert" : "delete", vmName, snapshot.name]} />
    </Dialog>
  );
}
