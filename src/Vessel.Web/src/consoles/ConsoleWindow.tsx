import { useEffect } from "react";
import { href } from "../routes";
import { useVm } from "../pages/vm/useVm";
import { ErrorLine } from "../components/ErrorLine";
import { StateBadge } from "../components/StateBadge";
import type { ConsoleKind } from "./connection";
import { ConsoleView } from "./ConsoleView";

const kindNames: Record<ConsoleKind, string> = { serial: "serial console", graphic: "graphic console" };

/**
 * A console in a window of its own (`#/console/NAME/serial|graphic`, opened from the Console
 * tab): a line naming the VM and its state, then the console, filling the window.
 */
export function ConsoleWindow({ name, kind }: { name: string; kind: ConsoleKind }) {
  const { vm, error } = useVm(name);
  useEffect(() => {
    document.title = `${name}: ${kindNames[kind]} — Vessel`;
  }, [name, kind]);
  const other: ConsoleKind = kind === "serial" ? "graphic" : "serial";
  return (
    <main className="console-window" aria-label={`Console of ${name}`}>
      <header className="console-window-header">
        <h1>
          <a href={href({ page: "vm", name, tab: "summary" })} target="_blank" rel="noreferrer">
            {name}
          </a>{" "}
          <span className="muted">{kindNames[kind]}</span>
        </h1>
        {vm && <StateBadge state={vm.state} />}
        {vm && (other === "serial" || vm.display === "vnc") && <a href={href({ page: "console", name, kind: other })}>Switch to the {kindNames[other]}</a>}
      </header>
      <ErrorLine error={error} />
      <ConsoleView key={kind} vm={name} kind={kind} state={vm?.state} />
    </main>
  );
}
