import { memo, useCallback, useMemo, useState } from "react";
import type { VmSummary } from "../api/client";
import { deleteVm, powerAction, snapshotNameNow, takeSnapshot } from "../api/vmActions";
import { href } from "../routes";
import { formatBytes } from "./format";
import { StateBadge } from "./StateBadge";
import { Tags } from "./Tags";
import { ErrorLine } from "./ErrorLine";

/**
 * VMs in a table with a selection and bulk actions (start, stop, snapshot, delete): each VM
 * is asked on its own, and the sentences of those the server refused are listed by name.
 */
export function VmTable({ vms, label }: { vms: VmSummary[]; label: string }) {
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<string[]>([]);
  const visible = useMemo(() => new Set(vms.map((v) => v.name)), [vms]);
  const chosen = [...selected].filter((name) => visible.has(name));

  // Stable, so that the memoised rows are drawn again only when their own VM or box changes.
  const toggle = useCallback((name: string) => {
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(name)) next.delete(name);
      else next.add(name);
      return next;
    });
  }, []);

  async function bulk(what: string, action: (vm: string) => Promise<unknown>) {
    if (what === "delete" && !window.confirm(`Delete ${chosen.length} VM(s) with their disks: ${chosen.join(", ")}?`)) return;
    setBusy(true);
    const results = await Promise.allSettled(chosen.map(action));
    setErrors(results.flatMap((r, i) => (r.status === "rejected" ? [`${chosen[i]}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : [])));
    setBusy(false);
  }

  return (
    <div className="vm-table">
      <div className="toolbar" role="toolbar" aria-label={`Bulk actions on the selected VMs`}>
        <span className="muted">{chosen.length} selected</span>
        <button type="button" disabled={busy || chosen.length === 0} onClick={() => bulk("start", (vm) => powerAction(vm, "start"))}>
          Start
        </button>
        <button type="button" disabled={busy || chosen.length === 0} onClick={() => bulk("stop", (vm) => powerAction(vm, "stop"))}>
          Stop
        </button>
        <button type="button" disabled={busy || chosen.length === 0} onClick={() => bulk("snapshot", (vm) => takeSnapshot(vm, snapshotNameNow(), false))}>
          Snapshot
        </button>
        <button type="button" className="danger" disabled={busy || chosen.length === 0} onClick={() => bulk("delete", (vm) => deleteVm(vm))}>
          Delete
        </button>
      </div>
      {errors.map((e) => (
        <ErrorLine key={e} error={e} />
      ))}
      <table aria-label={label}>
        <thead>
          <tr>
            <th scope="col">
              <input
                type="checkbox"
                aria-label="Select all"
                checked={vms.length > 0 && chosen.length === vms.length}
                onChange={(e) => setSelected(e.target.checked ? new Set(vms.map((v) => v.name)) : new Set())}
              />
            </th>
            <th scope="col">Name</th>
            <th scope="col">State</th>
            <th scope="col">Harts</th>
            <th scope="col">Memory</th>
            <th scope="col">Tags</th>
          </tr>
        </thead>
        <tbody>
          {vms.map((vm) => (
            <VmRow key={vm.id} vm={vm} checked={selected.has(vm.name)} onToggle={toggle} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One VM's row, memoised: with 1,000 VMs, a change draws its own row again, not all of them. */
const VmRow = memo(function VmRow({ vm, checked, onToggle }: { vm: VmSummary; checked: boolean; onToggle: (name: string) => void }) {
  return (
    <tr>
      <td>
        <input type="checkbox" aria-label={`Select ${vm.name}`} checked={checked} onChange={() => onToggle(vm.name)} />
      </td>
      <td>
        <a href={href({ page: "vm", name: vm.name, tab: "summary" })}>{vm.name}</a>
      </td>
      <td>
        <StateBadge state={vm.state} />
      </td>
      <td>{vm.cpus}</td>
      <td>{formatBytes(vm.memoryBytes)}</td>
      <td>
        <Tags tags={vm.tags} />
      </td>
    </tr>
  );
});
