import { useCallback, useEffect, useRef, useState } from "react";
import type { ConsoleStatus } from "./connection";

/**
 * The life of a console's connection: a generation that Reconnect (or the VM coming back to
 * running while the console is detached) moves on, so that the component's connecting effect
 * runs again; the VM's state comes from the server's events, never from polling.
 */
export function useConsoleConnection(running: boolean): {
  status: ConsoleStatus;
  setStatus: (status: ConsoleStatus) => void;
  generation: number;
  reconnect: () => void;
} {
  const [status, setStatus] = useState<ConsoleStatus>({ phase: "connecting" });
  const [generation, setGeneration] = useState(0);
  // Whether the VM ran when the current connection was tried: a detached console whose VM has
  // changed since then is tried again, whichever came first, the socket's close or the event.
  const triedRunning = useRef(running);
  const reconnect = useCallback(() => setGeneration((g) => g + 1), []);
  useEffect(() => {
    // A VM that starts (again) while its console is detached gets its console back by itself;
    // one that stops is asked once more, so that the status line has the server's sentence
    // (the console's socket may close before the VM's new state is recorded).
    if (status.phase === "detached" && running !== triedRunning.current) {
      triedRunning.current = running;
      reconnect();
    }
  }, [running, status.phase, reconnect]);
  return { status, setStatus, generation, reconnect };
}
