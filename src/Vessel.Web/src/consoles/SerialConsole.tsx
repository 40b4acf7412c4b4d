import { useCallback, useEffect, useRef, useState } from "react";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import { ErrorLine } from "../components/ErrorLine";
import { consoleSocketUrl, whyNoConsole } from "./connection";
import { ConsoleStatusLine } from "./ConsoleStatusLine";
import { useConsoleConnection } from "./useConsoleConnection";

const encoder = new TextEncoder();

/**
 * A VM's serial console in a terminal (xterm.js): bytes from the WebSocket go to the terminal
 * as they are (it decodes UTF-8 and the escape sequences), typed keys go back UTF-8 encoded.
 * The terminal fits its container and follows its resizes. Copy takes the selection; Paste
 * (or Ctrl+Shift+V) types the clipboard's text, and Ctrl+Shift+C copies, since Ctrl+C and
 * Ctrl+V belong to the guest.
 */
export function SerialConsole({ vm, state }: { vm: string; state: string | undefined }) {
  const container = useRef<HTMLDivElement>(null);
  const terminal = useRef<Terminal | null>(null);
  const socket = useRef<WebSocket | null>(null);
  const { status, setStatus, generation, reconnect } = useConsoleConnection(state);
  const [hasSelection, setHasSelection] = useState(false);
  const [clipboardError, setClipboardError] = useState<string | null>(null);

  const send = useCallback((bytes: Uint8Array) => {
    const open = socket.current;
    if (open?.readyState === WebSocket.OPEN) open.send(bytes);
  }, []);

  const copy = useCallback(async () => {
    const text = terminal.current?.getSelection() ?? "";
    if (text.length === 0) return;
    try {
      await navigator.clipboard.writeText(text);
      setClipboardError(null);
    } catch (e) {
      setClipboardError(`The selection cannot be copied to the clipboard (${e instanceof Error ? e.message : String(e)}).`);
    }
  }, []);

  const paste = useCallback(async () => {
    try {
      const text = await navigator.clipboard.readText();
      // paste() sends it through onData, as bracketed paste when the guest's shell asked for it.
      terminal.current?.paste(text);
      terminal.current?.focus();
      setClipboardError(null);
    } catch (e) {
      setClipboardError(`The clipboard cannot be read (${e instanceof Error ? e.message : String(e)}); allow this site to read it, or paste with the browser's menu.`);
    }
  }, []);

  // The terminal lives as long as the component; connections come and go inside it.
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: '"DejaVu Sans Mono", monospace',
      fontSize: 14,
      scrollback: 10_000,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(element);
    term.textarea?.setAttribute("aria-label", `Serial console of ${vm}`);
    const refit = () => {
      // A hidden container (a closed tab, a window being laid out) has no size to fit to.
      if (element.clientWidth > 0 && element.clientHeight > 0) fit.fit();
    };
    refit();
    const observer = new ResizeObserver(refit);
    observer.observe(element);
    const typed = term.onData((data) => send(encoder.encode(data)));
    // Some mouse reports are raw bytes rather than text: one byte per character.
    const binary = term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
    const selection = term.onSelectionChange(() => setHasSelection(term.hasSelection()));
    term.attachCustomKeyEventHandler((event) => {
      if (event.type !== "keydown" || !event.ctrlKey || !event.shiftKey) return true;
      if (event.code === "KeyC") {
        event.preventDefault();
        void copy();
        return false;
      }
      if (event.code === "KeyV") {
        // The browser's own paste would type the text a second time.
        event.preventDefault();
        void paste();
        return false;
      }
      return true;
    });
    terminal.current = term;
    return () => {
      observer.disconnect();
      typed.dispose();
      binary.dispose();
      selection.dispose();
      term.dispose();
      terminal.current = null;
    };
  }, [vm, send, copy, paste]);

  // One connection per generation: Reconnect, or the VM running again, opens a new one.
  useEffect(() => {
    let current = true;
    let opened: WebSocket | null = null;
    const detach = (reason: string) => current && setStatus({ phase: "detached", reason });
    setStatus({ phase: "connecting" });
    consoleSocketUrl(vm, "serial").then(
      (url) => {
        if (!current) return;
        const ws = new WebSocket(url);
        ws.binaryType = "arraybuffer";
        opened = ws;
        socket.current = ws;
        let received = false;
        ws.onopen = () => {
          if (!current) return;
          // The VMM replays its last 1 MiB of output to each viewer: start from a clean screen.
          terminal.current?.reset();
          setStatus({ phase: "waiting" });
        };
        ws.onmessage = (message) => {
          if (!current) return;
          terminal.current?.write(new Uint8Array(message.data as ArrayBuffer));
          if (!received) {
            received = true;
            setStatus({ phase: "connected" });
            terminal.current?.focus();
          }
        };
        ws.onclose = () => {
          if (!current) return;
          socket.current = null;
          setStatus({ phase: "detached", reason: "finding out why…" });
          void whyNoConsole(vm, "serial").then((why) => detach(why ?? "the console closed; Reconnect opens it again."));
        };
      },
      (e: unknown) => detach(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      current = false;
      opened?.close();
      socket.current = null;
    };
  }, [vm, generation, setStatus]);

  return (
    <div className="console serial-console">
      <div className="toolbar console-toolbar" role="toolbar" aria-label="Serial console">
        <ConsoleStatusLine status={status} onReconnect={reconnect} />
        <span className="console-spacer" />
        <button type="button" onClick={() => void copy()} disabled={!hasSelection} title="Copy the selection (Ctrl+Shift+C)">
          Copy
        </button>
        <button type="button" onClick={() => void paste()} disabled={status.phase === "detached"} title="Type the clipboard's text (Ctrl+Shift+V)">
          Paste
        </button>
      </div>
      <ErrorLine error={clipboardError} />
      <div className="console-screen terminal-screen" ref={container} />
    </div>
  );
}
