import { describe, expect, it } from "vitest";
import type { VmDetails } from "../../api/client";
import { combinedEdit, hardwareFields, splitTags } from "./hardwareFields";

const vm: VmDetails = {
  id: "00000000-0000-0000-0000-000000000001",
  name: "web1",
  state: "running",
  cpus: 1,
  memoryBytes: 256 * 1024 * 1024,
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  version: 3,
  autostart: { enabled: false, order: 5, delaySeconds: 10 },
};
const field = (key: string) => hardwareFields.find((f) => f.key === key)!;

describe("hardware fields", () => {
  it("turn drafts into PATCH bodies in the API's units", () => {
    expect(field("memory").request("512", vm)).toEqual({ memoryBytes: 512 * 1024 * 1024 });
    expect(field("cpus").request("2", vm)).toEqual({ cpus: 2 });
    expect(field("iso").request("", vm)).toEqual({ iso: "" });
  });

  it("answer a draft that is no value with a sentence", () => {
    expect(field("cpus").request("two", vm)).toBe("Harts is a whole number from 1 to 64.");
    expect(field("balloonBytes").request("300", vm)).toBe("The balloon target is a whole number from 16 to 256.");
  });

  it("keep the other autostart settings when one changes", () => {
    expect(field("autostart").request("true", vm)).toEqual({ autostart: { enabled: true, order: 5, delaySeconds: 10 } });
  });

  it("combine several changes into one body and one vessel vm edit line", () => {
    const { body, cli } = combinedEdit(vm, [
      { field: field("memory"), draft: "512" },
      { field: field("autostart"), draft: "true" },
      { field: field("autostartOrder"), draft: "7" },
      { field: field("tags"), draft: "web, prod" },
    ]);
    expect(body).toEqual({ memoryBytes: 512 * 1024 * 1024, autostart: { enabled: true, order: 7, delaySeconds: 10 }, tags: ["web", "prod"] });
    expect(cli).toEqual(["vm", "edit", "web1", "--memory", "512M", "--autostart", "true", "--start-order", "7", "--tag", "web", "--tag", "prod"]);
  });

  it("give no command line when a change has no vessel vm edit option", () => {
    expect(combinedEdit(vm, [{ field: field("rng"), draft: "true" }]).cli).toBeNull();
  });

  it("split tags at commas and spaces", () => {
    expect(splitTags(" a, b  c,,")).toEqual(["a", "b", "c"]);
  });
});
