import { describe, expect, it } from "vitest";
import type { VmSummary } from "./client";
import { keepUnchanged } from "./inventory";

function vm(id: string, state = "stopped"): VmSummary {
  return { id, name: `vm-${id}`, state, cpus: 1, memoryBytes: 256 << 20, tags: [], isTemplate: false } as unknown as VmSummary;
}

describe("an inventory reload", () => {
  it("keeps the previous list when nothing changed, so nothing is drawn again", () => {
    const old = [vm("1"), vm("2")];
    expect(keepUnchanged(old, [vm("1"), vm("2")])).toBe(old);
  });

  it("keeps the objects of unchanged VMs and takes the changed, new and reordered ones", () => {
    const old = [vm("1"), vm("2"), vm("3")];
    const fresh = keepUnchanged(old, [vm("1"), vm("2", "running"), vm("4")]);
    expect(fresh).not.toBe(old);
    expect(fresh[0]).toBe(old[0]);
    expect(fresh[1]!.state).toBe("running");
    expect(fresh.map((v) => v.id)).toEqual(["1", "2", "4"]);
    const reordered = keepUnchanged(old, [vm("2"), vm("1"), vm("3")]);
    expect(reordered).not.toBe(old);
    expect(reordered[0]).toBe(old[1]);
  });
});
