import { useCallback, useEffect, useState } from "react";
import { api, call, type VmDetails } from "../../api/client";
import { useServerEvents } from "../../api/events";

/** A VM's details, loaded again when an event names it (state, operation, edit). */
export function useVm(name: string): { vm: VmDetails | undefined; error: string | null; reload: () => void } {
  const [vm, setVm] = useState<VmDetails>();
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    call(api.GET("/api/v1/vms/{vm}", { params: { path: { vm: name } } })).then(
      (details) => (setVm(details), setError(null)),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [name]);
  useEffect(() => {
    setVm(undefined);
    reload();
  }, [reload]);
  useServerEvents((event) => {
    if (event.type === "resync" || (event.targetKind === "vm" && event.target === name)) reload();
  });
  return { vm, error, reload };
}
