import { useEffect, useRef, useState } from "react";
import type RFB from "@novnc/novnc";
import { consoleSocketUrl, whyNoConsole } from "./connection";
import { ConsoleStatusLine } from "./ConsoleStatusLine";
import { useConsoleConnection } from "./useConsoleConnection";

/**
 * A VM's screen through noVNC: RFB over the daemon's /vms/{vm}/vnc WebSocket (subprotocol
 * `binary`), scaled to fit its container by default. Keys and the mouse go to the VM once the
 * screen has the focus (a click gives it); Ctrl+Alt+Del, which the browser's own system would
 * take, is a button. The clipboard goes both ways through a text box: what the VM puts on its
 * clipboard appears there, and "Send to the VM" hands the box's text to it.
 */
export function GraphicConsole({ vm, state }: { vm: string; state: string | undefined }) {
  const screen = useRef<HTMLDivElement>(null);
  const session = useRef<RFB | null>(null);
  const { status, setStatus, generation, reconnect } = useConsoleConnection(state);
  const [scaled, setScaled] = useState(true);
  const [clipboard, setClipboard] = useState("");

  useEffect(() => {
    let current = true;
    let rfb: RFB | null = null;
    const detach = (reason: string) => current && setStatus({ phase: "detached", reason });
    setStatus({ phase: "connecting" });
    // noVNC is loaded with the first screen opened, not with the application.
    Promise.all([import("@novnc/novnc"), consoleSocketUrl(vm, "graphic")]).then(
      ([{ default: Rfb }, url]) => {
        const target = screen.current;
        if (!current || !target) return;
        try {
          rfb = new Rfb(target, url, { wsProtocols: ["binary"], shared: true });
        } catch (e) {
          detach(e instanceof Error ? e.message : String(e));
          return;
        }
        const opened = rfb;
        opened.scaleViewport = scaled;
        opened.background = "#000";
        opened.addEventListener("connect", () => {
          if (!current) return;
          setStatus({ phase: "connected" });
          opened.focus();
        });
        opened.addEventListener("disconnect", (event) => {
          if (!current) return;
          session.current = null;
          setStatus({ phase: "detached", reason: "finding out why…" });
          const fallback = event.detail.clean ? "the screen closed; Reconnect opens it again." : "the connection to the screen was lost; Reconnect opens it again.";
          void whyNoConsole(vm, "graphic").then((why) => detach(why ?? fallback));
        });
        opened.addEventListener("securityfailure", (event) => {
          detach(`the VM's screen refused the connection${event.detail.reason ? ` (${event.detail.reason})` : ""}.`);
        });
        opened.addEventListener("clipboard", (event) => current && setClipboard(event.detail.text));
        session.current = opened;
      },
      (e: unknown) => detach(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      current = false;
      rfb?.disconnect();
      session.current = null;
    };
    // Scaling changes on the open session (below), without a new connection.
  }, [vm, generation, setStatus]);

  useEffect(() => {
    if (session.current) session.current.scaleViewport = scaled;
  }, [scaled]);

  const connected = status.phase === "connected";
  return (
    <div className="console graphic-console">
      <div className="toolbar console-toolbar" role="toolbar" aria-label="Graphic console">
        <ConsoleStatusLine status={status} onReconnect={reconnect} />
        <span className="console-spacer" />
        <label>
          <input type="checkbox" checked={scaled} onChange={(e) => setScaled(e.target.checked)} /> Scale to fit
        </label>
        <button type="button" disabled={!connected} onClick={() => session.current?.sendCtrlAltDel()}>
          Ctrl+Alt+Del
        </button>
        <button type="button" onClick={() => void screen.current?.requestFullscreen()}>
          Full screen
        </button>
      </div>
      <div className="console-screen vnc-screen" ref={screen} role="application" aria-label={`Screen of ${vm}`} />
      <details className="console-clipboard">
        <summary>Clipboard</summary>
        <label>
          The VM's clipboard, or text to send to it
          <textarea rows={3} value={clipboard} onChange={(e) => setClipboard(e.target.value)} />
        </label>
        <button type="button" disabled={!connected || clipboard.length === 0} onClick={() => session.current?.clipboardPasteFrom(clipboard)}>
          Send to the VM
        </button>
      </details>
    </div>
  );
}
