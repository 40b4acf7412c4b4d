import { useCallback, useEffect, useRef, useState } from "react";
import { api, call, type OperationInfo } from "../../api/client";
import { useServerEvents } from "../../api/events";

/** Whether an operation has ended (succeeded, failed or cancelled). */
export function isFinished(operation: OperationInfo): boolean {
  return operation.isFinished ?? !(operation.status === "running" || operation.status === "queued");
}

export interface OperationTracker {
  /** The operation being followed (its progress, its last log line), or null before one starts. */
  operation: OperationInfo | null;
  /** The refusal of the request that would have started it, or the operation's own error. */
  error: string | null;
  busy: boolean;
  /** Starts an operation and resolves once it has ended: true when it succeeded. */
  run: (start: () => Promise<OperationInfo>) => Promise<boolean>;
  cancel: () => Promise<void>;
  reset: () => void;
}

/**
 * Follows one operation from its start to its end through the event stream (progress and
 * finish events; no polling): a dialog shows its progress and a Cancel button while it runs.
 * An operation that ended before its id was known is caught by one read after the start.
 */
export function useOperation(): OperationTracker {
  const [operation, setOperation] = useState<OperationInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const followed = useRef<string | null>(null);
  const done = useRef<((ended: OperationInfo) => void) | null>(null);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const update = useCallback((info: OperationInfo) => {
    if (info.id !== followed.current) return;
    if (mounted.current) setOperation(info);
    if (isFinished(info)) {
      followed.current = null;
      if (mounted.current) {
        setBusy(false);
        setError(info.status === "succeeded" ? null : (info.error ?? `The operation ended ${info.status}.`));
      }
      done.current?.(info);
      done.current = null;
    }
  }, []);

  const refetch = useCallback(
    (id: string) => {
      call(api.GET("/api/v1/operations/{id}", { params: { path: { id } } })).then(update, () => undefined);
    },
    [update],
  );

  useServerEvents((event) => {
    const id = followed.current;
    if (!id) return;
    if (event.type === "resync" || (event.operationId === id && event.type.startsWith("operation."))) refetch(id);
  });

  const run = useCallback(
    async (start: () => Promise<OperationInfo>) => {
      setBusy(true);
      setError(null);
      setOperation(null);
      let started: OperationInfo;
      try {
        started = await start();
      } catch (e) {
        if (mounted.current) {
          setError(e instanceof Error ? e.message : String(e));
          setBusy(false);
        }
        return false;
      }
      const ended = new Promise<OperationInfo>((resolve) => (done.current = resolve));
      followed.current = started.id;
      update(started);
      if (!isFinished(started)) refetch(started.id);
      return (await ended).status === "succeeded";
    },
    [update, refetch],
  );

  const cancel = useCallback(async () => {
    const id = followed.current;
    if (!id) return;
    try {
      update(await call(api.DELETE("/api/v1/operations/{id}", { params: { path: { id } } })));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [update]);

  const reset = useCallback(() => {
    setOperation(null);
    setError(null);
  }, []);

  return { operation, error, busy, run, cancel, reset };
}
