import { actionsFor, deleteVm, powerAction, type PowerAction } from "../../api/vmActions";
import type { OperationInfo, VmDetails } from "../../api/client";
import { navigate } from "../../routes";
import { MigrateButton } from "./MigrateButton";
import { OperationProgress } from "./OperationProgress";
import { useOperation } from "./useOperation";

const labels: Record<PowerAction, string> = {
  start: "Start",
  shutdown: "Shut down",
  stop: "Stop",
  reboot: "Reboot",
  reset: "Reset",
  pause: "Pause",
  resume: "Resume",
  suspend: "Suspend",
};

/**
 * The actions the VM's state allows and the caller may take (VM.PowerMgmt; VM.Allocate to
 * delete), each followed as an operation: its progress (and Cancel, where the server allows)
 * next to the buttons, the server's sentence if it fails.
 */
export function PowerButtons({ vm, may, onChanged }: { vm: VmDetails; may: (privilege: string) => boolean; onChanged: () => void }) {
  const tracker = useOperation();
  const stopped = vm.state === "stopped" || vm.state === "crashed";
  const running = (a: PowerAction) => tracker.run(() => powerAction(vm.name, a) as Promise<OperationInfo>).then(onChanged);
  return (
    <div className="actions" role="toolbar" aria-label="VM actions">
      {!vm.isTemplate &&
        may("VM.PowerMgmt") &&
        actionsFor(vm.state).map((a) => (
          <button key={a} type="button" disabled={tracker.busy} onClick={() => void running(a)}>
            {labels[a]}
          </button>
        ))}
      {!vm.isTemplate && may("VM.Migrate") && <MigrateButton vm={vm} tracker={tracker} onChanged={onChanged} />}
      {may("VM.Allocate") && (
        <button
          type="button"
          className="danger"
          disabled={tracker.busy || !stopped}
          title={stopped ? undefined : "Stop the VM first"}
          onClick={() => {
            if (window.confirm(`Delete ${vm.isTemplate ? "template" : "VM"} ${vm.name} with its disks?`)) {
              void tracker.run(() => deleteVm(vm.name) as Promise<OperationInfo>).then((ok) => ok && navigate({ page: "home" }));
            }
          }}
        >
          Delete
        </button>
      )}
      {(tracker.busy || tracker.error) && <OperationProgress tracker={tracker} label={tracker.operation?.kind ?? "Action"} />}
    </div>
  );
}
