import { api, call } from "../api/client";
import { useInventory } from "../api/inventory";
import { useAsync } from "../components/useAsync";
import { VmTable } from "../components/VmTable";
import { ErrorLine } from "../components/ErrorLine";
import { href } from "../routes";
import { useState } from "react";
import { NewNetworkButton } from "./storage/NetworkPage";
import { CreateNetworkDialog } from "./storage/NetworkDialogs";
import { HostsSection } from "./HostsSection";

/** The host's page: its version, data directory and counts, and every VM in a table. */
export function HostPage() {
  const { vms, templates, loaded, error } = useInventory();
  const info = useAsync(() => call(api.GET("/api/v1")), [vms.length]);
  const [creatingNetwork, setCreatingNetwork] = useState(false);
  return (
    <section aria-label="Host localhost" className="page">
      <header className="page-header">
        <h1>localhost</h1>
        <a className="button primary" href={href({ page: "create-vm" })}>
          Create VM
        </a>
        <NewNetworkButton onOpen={() => setCreatingNetwork(true)} />
      </header>
      {creatingNetwork && <CreateNetworkDialog onClose={() => setCreatingNetwork(false)} />}
      {/* The host facts need Sys.Audit; a VM user sees the VMs alone. */}
      <ErrorLine error={error} />
      {info.data && (
        <dl className="facts">
          <dt>Version</dt>
          <dd>{info.data.version}</dd>
          <dt>Data directory</dt>
          <dd>{info.data.dataDirectory}</dd>
          <dt>VMs</dt>
          <dd>
            {info.data.vms} ({info.data.runningVms} running)
          </dd>
          <dt>Templates</dt>
          <dd>{templates.length}</dd>
          {info.data.defaultTemplateStatus && (
            <>
              <dt>Default template</dt>
              <dd>{info.data.defaultTemplateStatus}</dd>
            </>
          )}
        </dl>
      )}
      <HostsSection />
      <h2>Virtual machines</h2>
      {loaded ? <VmTable vms={vms} label="Virtual machines" /> : <p className="loading">Loading…</p>}
    </section>
  );
}
