import { useState } from "react";
import { api, call, type OperationInfo, type VmDetails } from "../../api/client";
import { useAsync } from "../../components/useAsync";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import type { OperationTracker } from "./useOperation";

/**
 * Moves the VM to another host (VM.Migrate): live while it runs, its disks copied along when the
 * host does not see them; offline when stopped. The host is picked from those that are up, or
 * left to placement; the migration is followed as an operation (progress with the dirty rate in
 * its log line, Cancel while it runs).
 */
export function MigrateButton({ vm, tracker, onChanged }: { vm: VmDetails; tracker: OperationTracker; onChanged: () => void }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" disabled={tracker.busy} onClick={() => setOpen(true)}>
        Migrate…
      </button>
      {open && (
        <MigrateDialog
          vm={vm}
          onClose={() => setOpen(false)}
          onMigrate={(host) => {
            setOpen(false);
            void tracker.run(() => call(api.POST("/api/v1/vms/{vm}/migrate", { params: { path: { vm: vm.name } }, body: { host } })) as Promise<OperationInfo>).then(onChanged);
          }}
        />
      )}
    </>
  );
}

function MigrateDialog({ vm, onClose, onMigrate }: { vm: VmDetails; onClose: () => void; onMigrate: (host: string | null) => void }) {
  const hosts = useAsync(() => call(api.GET("/api/v1/hosts")), []);
  const [host, setHost] = useState("");
  const choices = (hosts.data ?? []).filter((h) => h.name !== vm.host && h.state === "up");
  return (
    <Dialog title={`Migrate ${vm.name}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onMigrate(host === "" ? null : host);
        }}
      >
        <p>
          {vm.state === "running" || vm.state === "paused" ? "Live: the VM runs on while its memory moves." : "Offline: the VM stays stopped."} It is on{" "}
          {vm.host ?? "the manager's host"} now.
        </p>
        <label>
          Destination host{" "}
          <select value={host} onChange={(e) => setHost(e.target.value)}>
            <option value="">Best fit (most free memory)</option>
            {choices.map((h) => (
              <option key={h.id} value={h.name}>
                {h.name}
              </option>
            ))}
          </select>
        </label>
        <ErrorLine error={hosts.error} />
        <div className="actions">
          <button type="submit" className="primary">
            Migrate
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
