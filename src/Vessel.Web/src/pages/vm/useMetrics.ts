import { useEffect, useState } from "react";
import { api, call, type Schemas } from "../../api/client";

export type MetricSample = Schemas["MetricSample"];

/** How often the daemon samples (its default, Vessel:MetricsIntervalSeconds): no use asking faster. */
export const sampleIntervalMs = 5000;

/**
 * The VM's samples of the last hour: read once, then again every sample interval while the VM
 * runs and the page is visible (there is no event for a new sample; a stopped VM gets none, and
 * a hidden tab needs none).
 */
export function useMetrics(vm: string, running: boolean): { samples: MetricSample[]; error: string | null } {
  const [samples, setSamples] = useState<MetricSample[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [visible, setVisible] = useState(() => document.visibilityState === "visible");
  useEffect(() => {
    const changed = () => setVisible(document.visibilityState === "visible");
    document.addEventListener("visibilitychange", changed);
    return () => document.removeEventListener("visibilitychange", changed);
  }, []);
  useEffect(() => {
    let current = true;
    const load = () =>
      call(api.GET("/api/v1/vms/{vm}/metrics", { params: { path: { vm } } })).then(
        (list) => current && (setSamples(list), setError(null)),
        (e: unknown) => current && setError(e instanceof Error ? e.message : String(e)),
      );
    void load();
    const timer = running && visible ? window.setInterval(load, sampleIntervalMs) : undefined;
    return () => {
      current = false;
      window.clearInterval(timer);
    };
  }, [vm, running, visible]);
  return { samples, error };
}
