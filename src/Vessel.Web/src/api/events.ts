import { useEffect, useRef, useSyncExternalStore } from "react";
import { webSocketUrl } from "./client";

/**
 * One message of /api/v1/events (Vessel.Client.Contracts.ServerEvent: a WebSocket is outside
 * the OpenAPI document, so its message is written here).
 */
export interface ServerEvent {
  type: string;
  targetKind?: string | null;
  target?: string | null;
  state?: string | null;
  message?: string | null;
  operationId?: string | null;
  time: string;
}
type Listener = (event: ServerEvent) => void;

/**
 * One WebSocket to /api/v1/events for the whole application: state changes and operation
 * progress arrive as they happen (the UI never polls for them). It reconnects with a growing
 * delay after a cut, and tells its subscribers "resync" so that lists fetch once again what
 * they may have missed.
 */
class EventStream {
  private socket: WebSocket | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly statusListeners = new Set<() => void>();
  private retryDelay = 500;
  private stopped = true;
  connected = false;

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close();
    this.socket = null;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribeStatus(listener: () => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private setConnected(connected: boolean): void {
    this.connected = connected;
    this.statusListeners.forEach((l) => l());
  }

  private open(): void {
    const socket = new WebSocket(webSocketUrl("/api/v1/events"));
    this.socket = socket;
    socket.onopen = () => {
      this.retryDelay = 500;
      this.setConnected(true);
      this.dispatch({ type: "resync", time: new Date().toISOString() });
    };
    socket.onmessage = (message) => {
      try {
        this.dispatch(JSON.parse(message.data as string) as ServerEvent);
      } catch {
        // Not an event: ignored, the stream goes on.
      }
    };
    socket.onclose = () => {
      this.setConnected(false);
      if (this.stopped || this.socket !== socket) return;
      setTimeout(() => !this.stopped && this.open(), this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, 10_000);
    };
  }

  private dispatch(event: ServerEvent): void {
    this.listeners.forEach((l) => l(event));
  }
}

export const events = new EventStream();

/** Calls the handler for every server event (and "resync" after a reconnection). */
export function useServerEvents(handler: Listener): void {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => events.subscribe((e) => latest.current(e)), []);
}

/** Whether the event stream is connected (shown in the status bar). */
export function useEventsConnected(): boolean {
  return useSyncExternalStore(
    (l) => events.subscribeStatus(l),
    () => events.connected,
  );
}
