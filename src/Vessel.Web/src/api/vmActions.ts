import { api, call } from "./client";

export const powerActions = ["start", "shutdown", "stop", "reboot", "reset", "pause", "resume", "suspend"] as const;
export type PowerAction = (typeof powerActions)[number];

/** Which power actions make sense in a state (the server refuses the others with a sentence). */
export function actionsFor(state: string): PowerAction[] {
  switch (state) {
    case "stopped":
    case "crashed":
    case "suspended":
      return ["start"];
    case "running":
      return ["shutdown", "stop", "reboot", "reset", "pause", "suspend"];
    case "paused":
      return ["resume", "stop", "suspend"];
    default:
      return ["stop"];
  }
}

/** POST /api/v1/vms/{vm}/ACTION: every action has the same shape, so one typed path stands for all. */
export function powerAction(vm: string, action: PowerAction): Promise<unknown> {
  const path = `/api/v1/vms/{vm}/${action}` as "/api/v1/vms/{vm}/start";
  return call(api.POST(path, { params: { path: { vm } }, body: null }));
}

export function deleteVm(vm: string, deleteDisks = true): Promise<unknown> {
  return call(api.DELETE("/api/v1/vms/{vm}", { params: { path: { vm }, query: { deleteDisks } } }));
}

export function takeSnapshot(vm: string, name: string, memory: boolean, description?: string): Promise<unknown> {
  return call(api.POST("/api/v1/vms/{vm}/snapshots", { params: { path: { vm } }, body: { name, memory, description } }));
}

/** A snapshot name from the time, for bulk snapshots (names are letters, digits, '-', '_', '.'). */
export function snapshotNameNow(date: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `snap-${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}
