import { useMemo } from "react";
import { useInventory } from "../api/inventory";
import { search, type Searchable } from "../search/query";
import { href, type Route } from "../routes";
import { StateBadge } from "../components/StateBadge";
import { Tags } from "../components/Tags";
import { ErrorLine } from "../components/ErrorLine";
import { VmTable } from "../components/VmTable";
import type { VmSummary } from "../api/client";

interface Found extends Searchable {
  route: Route;
  vm?: VmSummary;
}

/** Results of the global search over every object the caller may see. */
export function SearchPage({ query }: { query: string }) {
  const { vms, templates, pools, networks } = useInventory();
  const everything = useMemo<Found[]>(
    () => [
      ...vms.map((vm) => ({ kind: "vm", name: vm.name, state: vm.state, tags: vm.tags, route: { page: "vm", name: vm.name, tab: "summary" } as Route, vm })),
      ...templates.map((vm) => ({ kind: "template", name: vm.name, state: vm.state, tags: vm.tags, route: { page: "vm", name: vm.name, tab: "summary" } as Route })),
      ...pools.map((pool) => ({ kind: "storage", name: pool.name, route: { page: "storage", name: pool.name } as Route })),
      ...networks.map((network) => ({ kind: "network", name: network.name, state: network.running ? "running" : "stopped", route: { page: "network", name: network.name } as Route })),
    ],
    [vms, templates, pools, networks],
  );
  const { results, error } = search(query, everything);
  const foundVms = results.flatMap((r) => (r.vm ? [r.vm] : []));
  return (
    <section className="page" aria-label="Search results">
      <h1>Search: {query}</h1>
      <ErrorLine error={error} />
      {!error && (
        <>
          <p className="muted">{results.length} found</p>
          <table aria-label="Found objects">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Tags</th>
              </tr>
            </thead>
            <tbody>
              {results.map((r) => (
                <tr key={`${r.kind}:${r.name}`}>
                  <td>{r.kind}</td>
                  <td>
                    <a href={href(r.route)}>{r.name}</a>
                  </td>
                  <td>{r.state ? <StateBadge state={r.state} /> : "–"}</td>
                  <td>
                    <Tags tags={r.tags ?? []} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {foundVms.length > 0 && (
            <>
              <h2>Found VMs</h2>
              <VmTable vms={foundVms} label="Found VMs" />
            </>
          )}
        </>
      )}
    </section>
  );
}
