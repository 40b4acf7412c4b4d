import { api, call, sentenceOf, webSocketUrl } from "../api/client";

/** The two consoles of a VM: its serial line, and its screen (a VM with `display: "vnc"`). */
export type ConsoleKind = "serial" | "graphic";

/** The kind of ticket each console takes (ConsoleKinds on the server). */
const ticketKinds: Record<ConsoleKind, "serial" | "vnc"> = { serial: "serial", graphic: "vnc" };

/** The WebSocket of each console under /api/v1/vms/{vm}/. */
const endpoints: Record<ConsoleKind, string> = { serial: "console", graphic: "vnc" };

/** Where a console stands, shown in its status line. */
export type ConsoleStatus =
  | { phase: "connecting" }
  /** The WebSocket is open but nothing came yet: the VMM gives its serial console to one viewer at a time. */
  | { phase: "waiting" }
  | { phase: "connected" }
  /** Closed, with the server's sentence when it gave one (the VM is stopped, it has no display...). */
  | { phase: "detached"; reason: string };

/**
 * The path of a console's WebSocket with a fresh ticket: over the network a console opens
 * only with a single-use ticket of its kind, valid for seconds, so each connection asks for one.
 */
async function ticketedPath(vm: string, kind: ConsoleKind): Promise<string> {
  const { ticket } = await call(api.POST("/api/v1/vms/{vm}/console/ticket", { params: { path: { vm } }, body: { kind: ticketKinds[kind] } }));
  return `/api/v1/vms/${encodeURIComponent(vm)}/${endpoints[kind]}?ticket=${encodeURIComponent(ticket)}`;
}

/** The URL to open a console's WebSocket at, with its ticket (an ApiError with the server's sentence if refused). */
export async function consoleSocketUrl(vm: string, kind: ConsoleKind): Promise<string> {
  return webSocketUrl(await ticketedPath(vm, kind));
}

/**
 * Why a console cannot be opened now, in the server's words, or null when it could be.
 * A browser's WebSocket says nothing of a refused upgrade (no status, no body), so the same
 * request is made once more as a plain GET with a fresh ticket: the server checks the ticket
 * and the VM first and answers with its sentence (409: the VM is stopped, it was started
 * without a display), and only when all is well refuses the plain GET for not being a
 * WebSocket (400).
 */
export async function whyNoConsole(vm: string, kind: ConsoleKind): Promise<string | null> {
  let path: string;
  try {
    path = await ticketedPath(vm, kind);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  let response: Response;
  try {
    response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch (e) {
    return `The server cannot be reached (${e instanceof Error ? e.message : String(e)}).`;
  }
  if (response.status === 400 || response.ok) return null;
  const body: unknown = await response.json().catch(() => null);
  return sentenceOf(response.status, body);
}

/** The words of a status line. */
export function describeStatus(status: ConsoleStatus): string {
  switch (status.phase) {
    case "connecting":
      return "Connecting…";
    case "waiting":
      return "Attached; waiting for the console (one viewer at a time: another window may hold it).";
    case "connected":
      return "Connected";
    case "detached":
      return `Detached: ${status.reason}`;
  }
}
