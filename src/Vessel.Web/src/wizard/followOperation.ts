import { api, call, type OperationInfo } from "../api/client";
import { events } from "../api/events";

const finished = new Set(["succeeded", "failed", "cancelled"]);

export function isFinished(operation: OperationInfo): boolean {
  return finished.has(operation.status);
}

/**
 * Follows an operation to its end on the event stream (no polling): each `operation.*` event of
 * this operation fetches it once more, so `onUpdate` sees its progress and log; the promise gives
 * the finished operation. It is fetched once on subscribing too, for an operation that finished
 * before the subscription began (or between a reconnection's events).
 */
export function followOperation(started: OperationInfo, onUpdate: (operation: OperationInfo) => void, signal?: AbortSignal): Promise<OperationInfo> {
  if (isFinished(started)) return Promise.resolve(started);
  return new Promise((resolve, reject) => {
    let done = false;
    const refresh = () => {
      call(api.GET("/api/v1/operations/{id}", { params: { path: { id: started.id } } })).then(
        (operation) => {
          if (done) return;
          onUpdate(operation);
          if (isFinished(operation)) {
            done = true;
            unsubscribe();
            resolve(operation);
          }
        },
        (e: unknown) => {
          if (done) return;
          done = true;
          unsubscribe();
          reject(e);
        },
      );
    };
    const unsubscribe = events.subscribe((event) => {
      if (event.type === "resync" || (event.type.startsWith("operation.") && event.operationId === started.id)) refresh();
    });
    signal?.addEventListener("abort", () => {
      done = true;
      unsubscribe();
    });
    refresh();
  });
}
