import { describe, expect, it } from "vitest";
import { buildSnapshotTree, type SnapshotInfo } from "./snapshotTree";

function snapshot(name: string, parent: string | null, minute: number): SnapshotInfo {
  return { name, parent, description: "", memory: false, vmState: "stopped", createdAt: `2026-01-01T10:${String(minute).padStart(2, "0")}:00Z`, current: false };
}

describe("buildSnapshotTree", () => {
  it("nests children under their parents, oldest first", () => {
    const roots = buildSnapshotTree([snapshot("c", "a", 3), snapshot("b", "a", 2), snapshot("a", null, 1), snapshot("d", "b", 4)]);
    expect(roots.map((r) => r.snapshot.name)).toEqual(["a"]);
    expect(roots[0]!.children.map((c) => c.snapshot.name)).toEqual(["b", "c"]);
    expect(roots[0]!.children[0]!.children.map((c) => c.snapshot.name)).toEqual(["d"]);
  });

  it("makes a snapshot whose parent is missing a root", () => {
    const roots = buildSnapshotTree([snapshot("orphan", "gone", 2), snapshot("a", null, 1)]);
    expect(roots.map((r) => r.snapshot.name)).toEqual(["a", "orphan"]);
  });
});
