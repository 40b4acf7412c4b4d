import type { VmTabProps } from "./VmPage";

// Being built in parallel (issue 15); replaced before the issue is closed.
export function VmConsoleTab({ vm }: VmTabProps) {
  return <p className="muted">The console of {vm.name} appear here.</p>;
}
