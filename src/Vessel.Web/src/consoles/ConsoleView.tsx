import { ShowAsCommand } from "../components/ShowAsCommand";
import type { ConsoleKind } from "./connection";
import { GraphicConsole } from "./GraphicConsole";
import { SerialConsole } from "./SerialConsole";

/** One console of a VM, of either kind, as the Console tab and a console window show it. */
export function ConsoleView({ vm, kind, state }: { vm: string; kind: ConsoleKind; state: string | undefined }) {
  return kind === "graphic" ? <GraphicConsole key={vm} vm={vm} state={state} /> : <SerialConsole key={vm} vm={vm} state={state} />;
}

/** The API call (a ticket for the WebSocket) and the CLI command behind a console. */
export function ConsoleCommands({ vm, kind }: { vm: string; kind: ConsoleKind }) {
  return (
    <ShowAsCommand
      call={{ method: "POST", path: `/api/v1/vms/${encodeURIComponent(vm)}/console/ticket`, body: { kind: kind === "graphic" ? "vnc" : "serial" } }}
      cli={kind === "serial" ? ["vm", "console", vm] : undefined}
    />
  );
}
