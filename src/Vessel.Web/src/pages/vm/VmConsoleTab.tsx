import { useState } from "react";
import { href } from "../../routes";
import { ErrorLine } from "../../components/ErrorLine";
import type { ConsoleKind } from "../../consoles/connection";
import { ConsoleCommands, ConsoleView } from "../../consoles/ConsoleView";
import type { VmTabProps } from "./VmPage";

/**
 * The VM's consoles: the serial console, and the screen when the VM has a display (then it
 * is shown first). "Open in a new window" moves the console to a window of its own; the tab
 * lets go of it meanwhile, since the serial console has one viewer at a time.
 */
export function VmConsoleTab({ vm }: VmTabProps) {
  const hasDisplay = vm.display === "vnc";
  const [chosen, setChosen] = useState<ConsoleKind>(hasDisplay ? "graphic" : "serial");
  const [inWindow, setInWindow] = useState<ConsoleKind | null>(null);
  const [windowError, setWindowError] = useState<string | null>(null);
  const kind: ConsoleKind = hasDisplay ? chosen : "serial";

  const openWindow = () => {
    const opened = window.open(href({ page: "console", name: vm.name, kind }), `vessel-console-${vm.name}-${kind}`, "popup,width=1024,height=768");
    if (!opened) {
      setWindowError("The browser did not open the new window; allow this site's pop-ups and try again.");
      return;
    }
    setWindowError(null);
    setInWindow(kind);
  };

  return (
    <div className="console-tab">
      <div className="toolbar">
        {hasDisplay ? (
          <div role="radiogroup" aria-label="Console" className="console-kinds">
            {(["graphic", "serial"] as const).map((k) => (
              <label key={k}>
                <input type="radio" name={`console-kind-${vm.name}`} checked={kind === k} onChange={() => setChosen(k)} />
                {k === "graphic" ? "Graphic" : "Serial"}
              </label>
            ))}
          </div>
        ) : (
          <span className="muted">Serial console (no graphic console: the VM has no display)</span>
        )}
        <button type="button" onClick={openWindow}>
          Open in a new window
        </button>
      </div>
      <ErrorLine error={windowError} />
      {inWindow === kind ? (
        <div className="card">
          <p>This console is open in another window.</p>
          <button type="button" onClick={() => setInWindow(null)}>
            Show it here
          </button>
        </div>
      ) : (
        <ConsoleView key={kind} vm={vm.name} kind={kind} state={vm.state} />
      )}
      <ConsoleCommands vm={vm.name} kind={kind} />
    </div>
  );
}
