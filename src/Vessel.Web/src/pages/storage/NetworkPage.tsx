import { useState } from "react";
import { api, call } from "../../api/client";
import { useServerEvents } from "../../api/events";
import { useInventory } from "../../api/inventory";
import { usePrivileges } from "../../api/session";
import { ErrorLine } from "../../components/ErrorLine";
import { useAction, useAsync } from "../../components/useAsync";
import { href, navigate } from "../../routes";
import { CreateNetworkDialog } from "./NetworkDialogs";

/**
 * A network: its kind (nat, isolated, bridged), its host bridge, whether its switch runs, and
 * the VMs with a card on it; delete it (the server refuses while a NIC uses it), or make another.
 */
export function NetworkPage({ name }: { name: string }) {
  const inventory = useInventory();
  const network = useAsync(() => call(api.GET("/api/v1/networks/{network}", { params: { path: { network: name } } })), [name]);
  const privileges = usePrivileges(`/networks/${name}`);
  const mayAllocate = privileges?.has("Network.Allocate") ?? false;
  const [creating, setCreating] = useState(false);
  const remove = useAction();

  useServerEvents((event) => {
    if (event.type === "resync" || event.type.startsWith("vm.") || event.type === "operation.finished") network.reload();
  });

  async function deleteNetwork() {
    if (!window.confirm(`Delete network ${name}?`)) return;
    if (await remove.run(() => call(api.DELETE("/api/v1/networks/{network}", { params: { path: { network: name } } })))) {
      inventory.refresh();
      navigate({ page: "host", name: "local" });
    }
  }

  const info = network.data;
  return (
    <section className="page" aria-label={`Network ${name}`}>
      <header className="page-header">
        <h1>Network {name}</h1>
        <div className="actions">
          <NewNetworkButton onOpen={() => setCreating(true)} />
          {mayAllocate && name !== "default" && (
            <button type="button" className="danger" disabled={remove.busy} onClick={deleteNetwork}>
              Delete network
            </button>
          )}
        </div>
      </header>
      <ErrorLine error={network.error ?? remove.error} />
      {info && (
        <dl className="facts" aria-label="Network facts">
          <dt>Kind</dt>
          <dd>{info.kind}</dd>
          <dt>Bridge</dt>
          <dd>{info.bridge ?? "–"}</dd>
          <dt>Running</dt>
          <dd>{info.running ? "yes" : "no"}</dd>
          <dt>VMs using it</dt>
          <dd>
            {info.usedBy.length === 0
              ? "none"
              : info.usedBy.map((vm, i) => (
                  <span key={vm}>
                    {i > 0 && ", "}
                    <a href={href({ page: "vm", name: vm, tab: "summary" })}>{vm}</a>
                  </span>
                ))}
          </dd>
        </dl>
      )}
      {creating && <CreateNetworkDialog onClose={() => setCreating(false)} />}
    </section>
  );
}

/** "New network", for those who may make one (Network.Allocate on /networks). */
export function NewNetworkButton({ onOpen }: { onOpen: () => void }) {
  const privileges = usePrivileges("/networks");
  if (!privileges?.has("Network.Allocate")) return null;
  return (
    <button type="button" onClick={onOpen}>
      New network
    </button>
  );
}
