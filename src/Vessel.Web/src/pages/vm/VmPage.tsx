import { href, vmTabs, type VmTab } from "../../routes";
import { usePrivileges } from "../../api/session";
import { StateBadge } from "../../components/StateBadge";
import { ErrorLine } from "../../components/ErrorLine";
import { Tags } from "../../components/Tags";
import { PowerButtons } from "./PowerButtons";
import { useVm } from "./useVm";
import { VmSummaryTab } from "./VmSummaryTab";
import { VmConsoleTab } from "./VmConsoleTab";
import { VmHardwareTab } from "./VmHardwareTab";
import { VmSnapshotsTab } from "./VmSnapshotsTab";
import { VmClonesTab } from "./VmClonesTab";
import { VmPermissionsTab } from "./VmPermissionsTab";
import { TasksPanel } from "../../layout/TasksPanel";
import type { VmDetails } from "../../api/client";

const tabTitles: Record<VmTab, string> = {
  summary: "Summary",
  console: "Console",
  hardware: "Hardware",
  snapshots: "Snapshots",
  clones: "Clones",
  permissions: "Permissions",
  tasks: "Tasks",
};

/** Everything about one VM (or template): a header with its state and actions, and tabs. */
export function VmPage({ name, tab }: { name: string; tab: VmTab }) {
  const { vm, error, reload } = useVm(name);
  const privileges = usePrivileges(vm ? `/vms/${vm.id}` : null);
  if (!vm) {
    return <section className="page">{error ? <ErrorLine error={error} /> : <p className="loading">Loading…</p>}</section>;
  }
  const may = (privilege: string) => privileges?.has(privilege) ?? false;
  return (
    <section className="page" aria-label={`VM ${vm.name}`}>
      <header className="page-header">
        <h1>
          {vm.name} {vm.isTemplate && <span className="muted">(template)</span>}
        </h1>
        <StateBadge state={vm.state} />
        <Tags tags={vm.tags ?? []} />
        <PowerButtons vm={vm} may={may} onChanged={reload} />
      </header>
      <ErrorLine error={error} />
      <div role="tablist" aria-label="VM pages" className="tabs">
        {vmTabs.map((t) => (
          <a key={t} role="tab" aria-selected={t === tab} href={href({ page: "vm", name: vm.name, tab: t })} className={t === tab ? "tab active" : "tab"}>
            {tabTitles[t]}
          </a>
        ))}
      </div>
      <div role="tabpanel" aria-label={tabTitles[tab]} className="tab-panel">
        <TabContent tab={tab} vm={vm} may={may} reload={reload} />
      </div>
    </section>
  );
}

export interface VmTabProps {
  vm: VmDetails;
  /** Whether the caller holds a privilege on this VM (the server decides; the UI hides what it would refuse). */
  may: (privilege: string) => boolean;
  reload: () => void;
}

function TabContent({ tab, ...props }: VmTabProps & { tab: VmTab }) {
  switch (tab) {
    case "summary":
      return <VmSummaryTab {...props} />;
    case "console":
      return <VmConsoleTab {...props} />;
    case "hardware":
      return <VmHardwareTab {...props} />;
    case "snapshots":
      return <VmSnapshotsTab {...props} />;
    case "clones":
      return <VmClonesTab {...props} />;
    case "permissions":
      return <VmPermissionsTab {...props} />;
    case "tasks":
      return <TasksPanel target={props.vm.name} />;
  }
}
