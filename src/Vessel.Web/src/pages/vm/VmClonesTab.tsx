import { useState } from "react";
import { api, call, type VmDetails } from "../../api/client";
import { useInventory } from "../../api/inventory";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { StateBadge } from "../../components/StateBadge";
import { formatTime } from "../../components/format";
import { useAction, useAsync } from "../../components/useAsync";
import { href, navigate } from "../../routes";
import { OperationProgress } from "./OperationProgress";
import { useOperation } from "./useOperation";
import type { VmTabProps } from "./VmPage";

type CloneMode = "full" | "linked" | "instant";

const modeHelp: Record<CloneMode, string> = {
  full: "copies every disk: independent of this VM (from a stopped VM or a snapshot)",
  linked: "overlays on a snapshot's disks: made at once, shares the snapshot's data",
  instant: "starts from the running VM's state, memory shared copy-on-write",
};

/**
 * The VM's clones (the VMs made from it), with clone dialogs (full, linked at a snapshot,
 * instant) and "Convert to template"; for a template, "Deploy" makes a VM from it.
 */
export function VmClonesTab({ vm, may, reload }: VmTabProps) {
  const inventory = useInventory();
  const [dialog, setDialog] = useState<"clone" | "template" | "deploy" | null>(null);
  const clones = [...inventory.vms, ...inventory.templates].filter((v) => v.clonedFromId === vm.id);
  const running = vm.state === "running" || vm.state === "paused";

  return (
    <div className="clones">
      <div className="toolbar">
        {vm.isTemplate
          ? may("VM.Clone") && (
              <button type="button" className="primary" onClick={() => setDialog("deploy")}>
                Deploy
              </button>
            )
          : may("VM.Clone") && (
              <button type="button" className="primary" onClick={() => setDialog("clone")}>
                Clone
              </button>
            )}
        {!vm.isTemplate && may("VM.Allocate") && (
          <button type="button" disabled={running} title={running ? "Stop the VM first" : undefined} onClick={() => setDialog("template")}>
            Convert to template
          </button>
        )}
      </div>
      <h2>{vm.isTemplate ? "VMs deployed from this template" : "Clones of this VM"}</h2>
      {clones.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <table aria-label={`Clones of ${vm.name}`}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Kind</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {clones.map((clone) => (
              <tr key={clone.id}>
                <td>
                  <a href={href({ page: "vm", name: clone.name, tab: "summary" })}>{clone.name}</a>
                </td>
                <td>
                  <StateBadge state={clone.state} />
                </td>
                <td>{clone.isTemplate ? "template" : "VM"}</td>
                <td>{formatTime(clone.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {dialog === "clone" && <CloneDialog vm={vm} onClose={() => setDialog(null)} />}
      {dialog === "deploy" && <DeployDialog template={vm.name} onClose={() => setDialog(null)} />}
      {dialog === "template" && <ConvertToTemplateDialog vm={vm} onClose={() => setDialog(null)} onDone={reload} />}
    </div>
  );
}

function CloneDialog({ vm, onClose }: { vm: VmDetails; onClose: () => void }) {
  const running = vm.state === "running" || vm.state === "paused";
  const snapshots = useAsync(() => call(api.GET("/api/v1/vms/{vm}/snapshots", { params: { path: { vm: vm.name } } })), [vm.name]);
  const [mode, setMode] = useState<CloneMode>(running ? "linked" : "full");
  const [name, setName] = useState(`${vm.name}-clone`);
  const [snapshot, setSnapshot] = useState<string>("");
  const [start, setStart] = useState(false);
  const tracker = useOperation();
  const names = (snapshots.data?.snapshots ?? []).map((s) => s.name);
  // A linked clone needs a snapshot: the current one (or the newest) is the natural choice.
  const chosen = mode === "instant" ? null : snapshot || (mode === "linked" ? (snapshots.data?.current ?? names[names.length - 1] ?? null) : null);
  const body = { name, mode, snapshot: chosen, start: mode === "instant" ? true : start };
  const cli = ["vm", "clone", vm.name, name, "--mode", mode, ...(chosen ? ["--snapshot", chosen] : []), ...(body.start && mode !== "instant" ? ["--start"] : [])];

  async function clone(e: React.FormEvent) {
    e.preventDefault();
    const ok = await tracker.run(() => call(api.POST("/api/v1/vms/{vm}/clone", { params: { path: { vm: vm.name } }, body })));
    if (ok) onClose();
  }

  return (
    <Dialog title={`Clone ${vm.name}`} onClose={onClose}>
      <form onSubmit={clone}>
        <fieldset className="choices">
          <legend>Kind of clone</legend>
          {(["full", "linked", "instant"] as const).map((m) => (
            <label key={m}>
              <input type="radio" name="clone-mode" value={m} checked={mode === m} disabled={m === "instant" && !running} onChange={() => setMode(m)} />
              {m === "full" ? "Full clone" : m === "linked" ? "Linked clone" : "Instant clone"}
              <span className="muted"> — {modeHelp[m]}</span>
            </label>
          ))}
        </fieldset>
        <label>
          Name of the clone
          <input value={name} required onChange={(e) => setName(e.target.value)} />
        </label>
        {mode !== "instant" && (
          <label>
            At snapshot
            <select value={snapshot} onChange={(e) => setSnapshot(e.target.value)}>
              <option value="">{mode === "linked" ? `${chosen ?? "(no snapshot: take one first)"} (the current one)` : "(the VM as it is now)"}</option>
              {names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        )}
        {mode !== "instant" && (
          <label>
            <input type="checkbox" checked={start} onChange={(e) => setStart(e.target.checked)} />
            Start the clone once made
          </label>
        )}
        <ErrorLine error={snapshots.error} />
        <OperationProgress tracker={tracker} label="Clone" />
        <div className="actions">
          <button type="submit" className="primary" disabled={tracker.busy || name.length === 0}>
            Create clone
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
        <ShowAsCommand call={{ method: "POST", path: `/api/v1/vms/${encodeURIComponent(vm.name)}/clone`, body }} cli={cli} />
      </form>
    </Dialog>
  );
}

function DeployDialog({ template, onClose }: { template: string; onClose: () => void }) {
  const [name, setName] = useState(`${template}-vm`);
  const [cloneMode, setCloneMode] = useState<"linked" | "full">("linked");
  const tracker = useOperation();
  const body = { name, template, cloneMode };

  async function deploy(e: React.FormEvent) {
    e.preventDefault();
    const ok = await tracker.run(() => call(api.POST("/api/v1/vms", { body })));
    if (ok) {
      onClose();
      navigate({ page: "vm", name, tab: "summary" });
    }
  }

  return (
    <Dialog title={`Deploy a VM from ${template}`} onClose={onClose}>
      <form onSubmit={deploy}>
        <label>
          Name of the new VM
          <input value={name} required onChange={(e) => setName(e.target.value)} />
        </label>
        <fieldset className="choices">
          <legend>Disks</legend>
          <label>
            <input type="radio" name="deploy-mode" checked={cloneMode === "linked"} onChange={() => setCloneMode("linked")} />
            Linked (overlays on the template's disks)
          </label>
          <label>
            <input type="radio" name="deploy-mode" checked={cloneMode === "full"} onChange={() => setCloneMode("full")} />
            Full (copies of the template's disks)
          </label>
        </fieldset>
        <OperationProgress tracker={tracker} label="Deploy" />
        <div className="actions">
          <button type="submit" className="primary" disabled={tracker.busy || name.length === 0}>
            Deploy
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
        <ShowAsCommand call={{ method: "POST", path: "/api/v1/vms", body }} cli={["vm", "create", name, "--template", template, "--clone-mode", cloneMode]} />
      </form>
    </Dialog>
  );
}

function ConvertToTemplateDialog({ vm, onClose, onDone }: { vm: VmDetails; onClose: () => void; onDone: () => void }) {
  const action = useAction();
  async function convert() {
    const ok = await action.run(() =>
      call(api.POST("/api/v1/vms/{vm}/template", { params: { path: { vm: vm.name } }, headers: { "If-Match": `"${vm.version}"` } })),
    );
    if (ok) {
      onDone();
      onClose();
    }
  }
  return (
    <Dialog title={`Convert ${vm.name} to a template`} onClose={onClose}>
      <p>{vm.name} becomes a read-only template: its disks can no longer change, and VMs are deployed from it. This cannot be undone.</p>
      <ErrorLine error={action.error} />
      <div className="actions">
        <button type="button" className="primary" disabled={action.busy} onClick={() => void convert()}>
          Convert to template
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
      <ShowAsCommand call={{ method: "POST", path: `/api/v1/vms/${encodeURIComponent(vm.name)}/template` }} cli={["template", "create", vm.name]} />
    </Dialog>
  );
}
