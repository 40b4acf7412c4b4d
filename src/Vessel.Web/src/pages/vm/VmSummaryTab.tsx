import { LineChart } from "../../components/charts/LineChart";
import { peak } from "../../components/charts/scale";
import { ErrorLine } from "../../components/ErrorLine";
import { formatBytes, formatTime } from "../../components/format";
import { useMetrics } from "./useMetrics";
import type { VmTabProps } from "./VmPage";

const rate = (v: number) => `${formatBytes(v)}/s`;
const percent = (v: number) => `${Math.round(v)} %`;

/** The VM's definition at a glance, and live graphs of its CPU, memory, disk and network. */
export function VmSummaryTab({ vm }: VmTabProps) {
  const running = vm.state === "running" || vm.state === "paused";
  const { samples, error } = useMetrics(vm.name, running);
  const times = samples.map((s) => Date.parse(s.time));
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
        {vm.currentSnapshot && (
          <>
            <dt>Snapshot</dt>
            <dd>{vm.currentSnapshot}</dd>
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
      <section aria-label="Usage graphs">
        <h2>Usage{running ? "" : " (the VM is not running: its last samples)"}</h2>
        <ErrorLine error={error} />
        {samples.length === 0 && !error && <p className="muted">{running ? "The first samples arrive within a few seconds." : "No samples: the VM has not run in the last hour."}</p>}
        <div className="charts">
          <LineChart title="CPU" times={times} format={percent} fixedTop={100} series={[{ label: "CPU", values: samples.map((s) => s.cpuPercent), color: "var(--accent)" }]} />
          <LineChart
            title="Memory"
            times={times}
            format={formatBytes}
            fixedTop={Math.max(vm.memoryBytes, peak([samples.map((s) => s.memoryBytes)]))}
            series={[{ label: "Used by the VMM", values: samples.map((s) => s.memoryBytes), color: "var(--ok)" }]}
          />
          <LineChart
            title="Disk"
            times={times}
            format={rate}
            minimumTop={1024}
            series={[
              { label: "Read", values: samples.map((s) => s.diskReadBytesPerSecond), color: "var(--accent)" },
              { label: "Write", values: samples.map((s) => s.diskWriteBytesPerSecond), color: "var(--warn)" },
            ]}
          />
          <LineChart
            title="Network"
            times={times}
            format={rate}
            minimumTop={1024}
            series={[
              { label: "Received", values: samples.map((s) => s.networkReceiveBytesPerSecond ?? null), color: "var(--accent)" },
              { label: "Sent", values: samples.map((s) => s.networkTransmitBytesPerSecond ?? null), color: "var(--warn)" },
            ]}
          />
        </div>
      </section>
    </div>
  );
}
