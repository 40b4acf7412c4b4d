import { memo, useMemo, useState } from "react";
import type { VmSummary } from "../api/client";
import { useInventory } from "../api/inventory";
import { href, type Route } from "../routes";
import { StateBadge } from "../components/StateBadge";
import { useTreeKeyboard } from "./treeKeyboard";

type View = "host" | "pool" | "tag";

/**
 * The tree on the left, as in Proxmox and vCenter: the host with its VMs, templates, storage
 * pools and networks; or the VMs grouped by the storage pool of their disks, or by tag.
 */
export function ResourceTree({ route }: { route: Route }) {
  const inventory = useInventory();
  const [view, setView] = useState<View>("host");
  const selected = route.page === "vm" || route.page === "storage" || route.page === "network" ? `${route.page}:${route.name}` : route.page === "host" ? "host" : "";
  const keyboard = useTreeKeyboard();

  return (
    <nav className="tree" aria-label="Resources" ref={keyboard.ref} onKeyDown={keyboard.onKeyDown} onFocus={keyboard.onFocus}>
      <div className="tree-view" role="radiogroup" aria-label="Tree view">
        {(["host", "pool", "tag"] as const).map((v) => (
          <label key={v}>
            <input type="radio" name="tree-view" checked={view === v} onChange={() => setView(v)} />
            {v === "host" ? "By host" : v === "pool" ? "By pool" : "By tag"}
          </label>
        ))}
      </div>
      {view === "host" && <HostView selected={selected} />}
      {view === "tag" && <GroupedView selected={selected} groups={groupByTag(inventory.vms)} />}
      {view === "pool" && <GroupedView selected={selected} groups={groupByPool(inventory.vms)} />}
    </nav>
  );
}

function HostView({ selected }: { selected: string }) {
  const { vms, templates, pools, networks } = useInventory();
  return (
    <ul role="tree" aria-label="Host view">
      <li role="treeitem" aria-expanded="true" aria-selected={selected === "host"}>
        <a data-tree-focus href={href({ page: "host", name: "local" })}>
          localhost
        </a>
        <ul role="group">
          <TreeGroup label={`VMs (${vms.length})`}>
            {vms.map((vm) => (
              <VmItem key={vm.id} vm={vm} selected={selected === `vm:${vm.name}`} />
            ))}
          </TreeGroup>
          <TreeGroup label={`Templates (${templates.length})`}>
            {templates.map((vm) => (
              <VmItem key={vm.id} vm={vm} selected={selected === `vm:${vm.name}`} />
            ))}
          </TreeGroup>
          <TreeGroup label={`Storage (${pools.length})`}>
            {pools.map((pool) => (
              <li key={pool.name} role="treeitem" aria-selected={selected === `storage:${pool.name}`}>
                <a data-tree-focus href={href({ page: "storage", name: pool.name })}>
                  {pool.name}
                </a>
              </li>
            ))}
          </TreeGroup>
          <TreeGroup label={`Networks (${networks.length})`}>
            {networks.map((network) => (
              <li key={network.name} role="treeitem" aria-selected={selected === `network:${network.name}`}>
                <a data-tree-focus href={href({ page: "network", name: network.name })}>
                  {network.name}
                </a>
              </li>
            ))}
          </TreeGroup>
        </ul>
      </li>
    </ul>
  );
}

function TreeGroup({ label, children }: { label: string; children: React.ReactNode }) {
  const [open, setOpen] = useState(true);
  return (
    <li role="treeitem" aria-expanded={open} aria-selected={false}>
      <button type="button" data-tree-focus aria-expanded={open} className="tree-toggle" onClick={() => setOpen(!open)} aria-label={`${open ? "Collapse" : "Expand"} ${label}`}>
        {open ? "▾" : "▸"} {label}
      </button>
      {open && <ul role="group">{children}</ul>}
    </li>
  );
}

/** Memoised: with 1,000 VMs, a navigation or one VM's change draws one or two items again, not all. */
const VmItem = memo(function VmItem({ vm, selected }: { vm: VmSummary; selected: boolean }) {
  return (
    <li role="treeitem" aria-selected={selected}>
      <a data-tree-focus href={href({ page: "vm", name: vm.name, tab: "summary" })}>
        <span className={`dot state-${vm.state}`} aria-hidden="true" />
        {vm.name}
      </a>
      <span className="visually-hidden">
        <StateBadge state={vm.state} />
      </span>
    </li>
  );
});

function GroupedView({ groups, selected }: { groups: Map<string, VmSummary[]>; selected: string }) {
  const sorted = useMemo(() => [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)), [groups]);
  return (
    <ul role="tree" aria-label="Grouped view">
      {sorted.map(([group, vms]) => (
        <TreeGroup key={group} label={`${group} (${vms.length})`}>
          {vms.map((vm) => (
            <VmItem key={vm.id} vm={vm} selected={selected === `vm:${vm.name}`} />
          ))}
        </TreeGroup>
      ))}
    </ul>
  );
}

function groupByTag(vms: VmSummary[]): Map<string, VmSummary[]> {
  const groups = new Map<string, VmSummary[]>();
  for (const vm of vms) {
    for (const tag of vm.tags.length > 0 ? vm.tags : ["(no tag)"]) {
      const group = groups.get(tag);
      if (group) group.push(vm);
      else groups.set(tag, [vm]);
    }
  }
  return groups;
}

/** By the storage pool of each VM's first disk. */
function groupByPool(vms: VmSummary[]): Map<string, VmSummary[]> {
  const groups = new Map<string, VmSummary[]>();
  for (const vm of vms) {
    const pool = vm.pool ?? "(no disk)";
    const group = groups.get(pool);
    if (group) group.push(vm);
    else groups.set(pool, [vm]);
  }
  return groups;
}
