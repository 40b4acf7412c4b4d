import { useState, type FormEvent } from "react";
import { api, call } from "../../api/client";
import { useInventory } from "../../api/inventory";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { useAction } from "../../components/useAsync";
import { navigate } from "../../routes";
import { Field } from "../../wizard/Field";
import { checkBridge, checkName } from "../../wizard/validation";

type Kind = "nat" | "isolated" | "bridged";

/** A new network: nat (each VM's own NAT), isolated (a virtual switch between VMs) or bridged. */
export function CreateNetworkDialog({ onClose }: { onClose: () => void }) {
  const inventory = useInventory();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<Kind>("isolated");
  const [bridge, setBridge] = useState("");
  const [touched, setTouched] = useState(false);
  const action = useAction();
  const nameError = checkName("network", name);
  const bridgeError = kind === "bridged" ? checkBridge(bridge) : null;
  const body = { name, kind, bridge: kind === "bridged" ? bridge : null };
  const cli = ["network", "create", name, "--kind", kind, ...(kind === "bridged" ? ["--bridge", bridge] : [])];
  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (nameError || bridgeError) return;
    if (await action.run(() => call(api.POST("/api/v1/networks", { body })))) {
      inventory.refresh();
      onClose();
      navigate({ page: "network", name });
    }
  }
  return (
    <Dialog title="New network" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field id="network-name" label="Network name" error={touched || name ? nameError : null}>
          {(p) => <input {...p} autoFocus value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field id="network-kind" label="Kind">
          {(p) => (
            <select {...p} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
              <option value="isolated">isolated (a virtual switch between VMs)</option>
              <option value="nat">nat (each VM's own NAT to the host's network)</option>
              <option value="bridged">bridged (on a host bridge)</option>
            </select>
          )}
        </Field>
        {kind === "bridged" && (
          <Field id="network-bridge" label="Host bridge" error={touched || bridge ? bridgeError : null}>
            {(p) => <input {...p} value={bridge} placeholder="br0" onChange={(e) => setBridge(e.target.value)} />}
          </Field>
        )}
        <ErrorLine error={action.error} />
        <ShowAsCommand call={{ method: "POST", path: "/api/v1/networks", body }} cli={cli} />
        <div className="actions dialog-buttons">
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="primary" disabled={action.busy}>
            Create network
          </button>
        </div>
      </form>
    </Dialog>
  );
}
