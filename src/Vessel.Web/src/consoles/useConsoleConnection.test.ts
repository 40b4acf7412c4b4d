import { describe, expect, it } from "vitest";
import { act, renderHook } from "@testing-library/react";
import { useConsoleConnection } from "./useConsoleConnection";
import { describeStatus } from "./connection";

describe("a console's connection", () => {
  it("connects again when the VM starts while the console is detached", () => {
    const { result, rerender } = renderHook(({ state }) => useConsoleConnection(state), { initialProps: { state: "stopped" } });
    expect(result.current.generation).toBe(0);
    act(() => result.current.setStatus({ phase: "detached", reason: "VM 'a' is stopped; its console is there while it runs." }));
    rerender({ state: "running" });
    expect(result.current.generation).toBe(1);
  });

  it("asks again when the VM stops after its console was detached, for the server's sentence", () => {
    const { result, rerender } = renderHook(({ state }) => useConsoleConnection(state), { initialProps: { state: "running" } });
    act(() => result.current.setStatus({ phase: "detached", reason: "the console closed; Reconnect opens it again." }));
    rerender({ state: "stopped" });
    expect(result.current.generation).toBe(1);
  });

  it("asks again when the VM stopped before its console's socket closed", () => {
    const { result, rerender } = renderHook(({ state }) => useConsoleConnection(state), { initialProps: { state: "running" } });
    act(() => result.current.setStatus({ phase: "connected" }));
    rerender({ state: "stopped" });
    expect(result.current.generation).toBe(0);
    act(() => result.current.setStatus({ phase: "detached", reason: "the console closed; Reconnect opens it again." }));
    expect(result.current.generation).toBe(1);
  });

  it("asks again when a VM that was stopping when last asked has stopped", () => {
    const { result, rerender } = renderHook(({ state }) => useConsoleConnection(state), { initialProps: { state: "running" } });
    act(() => result.current.setStatus({ phase: "connected" }));
    rerender({ state: "stopping" });
    act(() => result.current.setStatus({ phase: "detached", reason: "VM 'a' is stopping; its console is there while it runs." }));
    expect(result.current.generation).toBe(1);
    rerender({ state: "stopped" });
    expect(result.current.generation).toBe(2);
  });

  it("leaves a connected console alone when the state changes, and reconnects on demand", () => {
    const { result, rerender } = renderHook(({ state }) => useConsoleConnection(state), { initialProps: { state: "running" } });
    act(() => result.current.setStatus({ phase: "connected" }));
    rerender({ state: "stopped" });
    rerender({ state: "running" });
    expect(result.current.generation).toBe(0);
    act(() => result.current.reconnect());
    expect(result.current.generation).toBe(1);
  });

  it("says where it stands in words, with the server's sentence when detached", () => {
    expect(describeStatus({ phase: "connected" })).toBe("Connected");
    expect(describeStatus({ phase: "detached", reason: "VM 'a' is stopped." })).toBe("Detached: VM 'a' is stopped.");
  });
});
