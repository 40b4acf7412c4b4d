import { actionsFor, deleteVm, powerAction, type PowerAction } from "../../api/vmActions";
import type { VmDetails } from "../../api/client";
import { useAction } from "../../components/useAsync";
import { ErrorLine } from "../../components/ErrorLine";
import { navigate } from "../../routes";

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

/** The actions the VM's state allows and the caller may take (VM.PowerMgmt; VM.Allocate to delete). */
export function PowerButtons({ vm, may, onChanged }: { vm: VmDetails; may: (privilege: string) => boolean; onChanged: () => void }) {
  const action = useAction();
  const stopped = vm.state === "stopped" || vm.state === "crashed";
  return (
    <div className="actions" role="toolbar" aria-label="VM actions">
      {!vm.isTemplate &&
        may("VM.PowerMgmt") &&
        actionsFor(vm.state).map((a) => (
          <button key={a} type="button" disabled={action.busy} onClick={() => action.run(() => powerAction(vm.name, a)).then(onChanged)}>
            {labels[a]}
          </button>
        ))}
      {may("VM.Allocate") && (
        <button
          type="button"
          className="danger"
          disabled={action.busy || !stopped}
          title={stopped ? undefined : "Stop the VM first"}
          onClick={() => {
            if (window.confirm(`Delete ${vm.isTemplate ? "template" : "VM"} ${vm.name} with its disks?`)) {
              void action.run(() => deleteVm(vm.name)).then((ok) => ok && navigate({ page: "home" }));
            }
          }}
        >
          Delete
        </button>
      )}
      <ErrorLine error={action.error} />
    </div>
  );
}
