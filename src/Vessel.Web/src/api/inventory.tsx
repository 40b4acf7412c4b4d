import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, call, type Schemas, type VmSummary } from "./client";
import { useServerEvents } from "./events";

export type PoolInfo = Schemas["PoolInfo"];
export type NetworkInfo = Schemas["NetworkInfo"];

/** What the resource tree, the search and the pages share: every object the caller may see. */
export interface Inventory {
  vms: VmSummary[];
  templates: VmSummary[];
  pools: PoolInfo[];
  networks: NetworkInfo[];
  loaded: boolean;
  error: string | null;
  refresh: () => void;
}

const InventoryContext = createContext<Inventory | null>(null);

export function useInventory(): Inventory {
  const inventory = useContext(InventoryContext);
  if (!inventory) throw new Error("useInventory outside InventoryProvider");
  return inventory;
}

/** The largest page the API gives (HttpConventions.MaxPageSize). */
const pageSize = 1000;

async function allVms(): Promise<VmSummary[]> {
  const all: VmSummary[] = [];
  for (let page = 1; ; page++) {
    const answer = await call(api.GET("/api/v1/vms", { params: { query: { page, pageSize, sort: "name" } } }));
    all.push(...answer.items);
    if (all.length >= answer.total || answer.items.length === 0) return all;
  }
}

/**
 * The fresh list with the previous objects of the VMs that did not change (and the previous
 * list when none did): a reload then draws again only the rows that changed (bench/ui: a
 * reload of 1,000 unchanged VMs drew all 2,000 rows of the table and the tree again).
 */
export function keepUnchanged(old: VmSummary[], fresh: VmSummary[]): VmSummary[] {
  const previous = new Map(old.map((vm) => [vm.id, vm]));
  let same = old.length === fresh.length;
  const result = fresh.map((vm, i) => {
    const before = previous.get(vm.id);
    const kept = before !== undefined && JSON.stringify(before) === JSON.stringify(vm) ? before : vm;
    if (kept !== old[i]) same = false;
    return kept;
  });
  return same ? old : result;
}

/**
 * Loads the inventory once, then keeps it current from the event stream: a state change is
 * applied to the list at once; a creation, a deletion or a finished operation reloads the
 * lists (coalesced: a burst of events costs one reload).
 */
export function InventoryProvider({ children }: { children: ReactNode }) {
  const [vms, setVms] = useState<VmSummary[]>([]);
  const [pools, setPools] = useState<PoolInfo[]>([]);
  const [networks, setNetworks] = useState<NetworkInfo[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const pending = useRef<number | null>(null);

  const load = useCallback(async () => {
    try {
      const [v, p, n] = await Promise.all([
        allVms(),
        call(api.GET("/api/v1/pools")).catch(() => [] as PoolInfo[]),
        call(api.GET("/api/v1/networks")).catch(() => [] as NetworkInfo[]),
      ]);
      setVms((old) => keepUnchanged(old, v));
      setPools(p);
      setNetworks(n);
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setLoaded(true);
    }
  }, []);

  const refresh = useCallback(() => {
    if (pending.current !== null) return;
    pending.current = window.setTimeout(() => {
      pending.current = null;
      void load();
    }, 150);
  }, [load]);

  useEffect(() => {
    void load();
  }, [load]);

  useServerEvents((event) => {
    if (event.type === "vm.state" && event.target && event.state) {
      setVms((list) => list.map((vm) => (vm.name === event.target ? { ...vm, state: event.state! } : vm)));
    } else if (event.type === "resync" || event.type.startsWith("vm.") || event.type === "operation.finished") {
      refresh();
    }
  });

  const value = useMemo<Inventory>(
    () => ({
      vms: vms.filter((v) => !v.isTemplate),
      templates: vms.filter((v) => v.isTemplate),
      pools,
      networks,
      loaded,
      error,
      refresh,
    }),
    [vms, pools, networks, loaded, error, refresh],
  );
  return <InventoryContext.Provider value={value}>{children}</InventoryContext.Provider>;
}
