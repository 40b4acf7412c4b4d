import { formatBytes, formatTime } from "../../components/format";
import type { VmTabProps } from "./VmPage";

/** The VM's definition at a glance. */
export function VmSummaryTab({ vm }: VmTabProps) {
  return (
    <div className="summary">
      <dl className="facts">
        <dt>State</dt>
        <dd>{vm.state}</dd>
        <dt>Harts</dt>
        <dd>{vm.cpus}</dd>
        <dt>Memory</dt>
        <dd>{formatBytes(vm.memoryBytes)}</dd>
        <dt>Firmware</dt>
        <dd>{vm.firmware}</dd>
        {vm.kernel && (
          <>
            <dt>Kernel</dt>
            <dd>{vm.kernel}</dd>
          </>
        )}
        <dt>Disks</dt>
        <dd>{(vm.disks ?? []).length === 0 ? "none" : (vm.disks ?? []).map((d) => `${d.id}: ${d.volume} (${formatBytes(d.virtualBytes)})`).join(", ")}</dd>
        <dt>Network</dt>
        <dd>{(vm.nics ?? []).length === 0 ? "none" : (vm.nics ?? []).map((n) => `${n.network} ${n.mac}`).join(", ")}</dd>
        {vm.description && (
          <>
            <dt>Description</dt>
            <dd>{vm.description}</dd>
          </>
        )}
        {vm.clonedFrom && (
          <>
            <dt>Cloned from</dt>
            <dd>{vm.clonedFrom}</dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{formatTime(vm.createdAt)}</dd>
      </dl>
    </div>
  );
}
