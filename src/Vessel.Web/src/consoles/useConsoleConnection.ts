import { useCallback, useEffect, useRef, useState } from "react";
import type { ConsoleStatus } from "./connection";

/**
 * The life of a console's connection: a generation that Reconnect (or the VM's state changing
 * while the console is detached) moves on, so that the component's connecting effect runs
 * again; the VM's state comes from the server's events, never from polling.
 */
export function useConsoleConnection(state: string | undefined): {
  status: ConsoleStatus;
  setStatus: (status: ConsoleStatus) => void;
  generation: number;
  reconnect: () => void;
} {
  const [status, setStatus] = useState<ConsoleStatus>({ phase: "connecting" });
  const [generation, setGeneration] = useState(0);
  // The VM's state when the current connection was tried: a detached console whose VM has
  // changed state since then is tried again, whichever came first, the socket's close or the
  // event. The state, not only whether it runs: a try made while the VM was stopping gets
  // "is stopping", and the VM's being stopped a moment later must be asked again.
  const triedState = useRef(state);
  const reconnect = useCallback(() => setGeneration((g) => g + 1), []);
  useEffect(() => {
    // A VM that starts (again) while its console is detached gets its console back by itself;
    // one that stops is asked again at each state it passes, so that the status line has the
    // server's sentence for where it ended (the socket may close before the state is recorded).
    if (status.phase === "detached" && state !== triedState.current) {
      triedState.current = state;
      reconnect();
    }
  }, [state, status.phase, reconnect]);
  return { status, setStatus, generation, reconnect };
}
