import type { Schemas } from "../../api/client";

export type SnapshotInfo = Schemas["SnapshotInfo"];

export interface SnapshotNode {
  snapshot: SnapshotInfo;
  children: SnapshotNode[];
}

/**
 * The snapshots as a forest, each level oldest first: a snapshot whose parent is not in the
 * list (none, or one deleted meanwhile) is a root.
 */
export function buildSnapshotTree(snapshots: readonly SnapshotInfo[]): SnapshotNode[] {
  const nodes = new Map<string, SnapshotNode>(snapshots.map((s) => [s.name, { snapshot: s, children: [] }]));
  const roots: SnapshotNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.snapshot.parent ? nodes.get(node.snapshot.parent) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const byTime = (a: SnapshotNode, b: SnapshotNode) => a.snapshot.createdAt.localeCompare(b.snapshot.createdAt) || a.snapshot.name.localeCompare(b.snapshot.name);
  const sort = (list: SnapshotNode[]) => {
    list.sort(byTime);
    list.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}
