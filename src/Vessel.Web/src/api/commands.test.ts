import { describe, expect, it } from "vitest";
import { curlCommand, shellQuote, vesselCommand } from "./commands";

describe("show as API call / CLI command", () => {
  it("quotes only the words a shell would split or expand", () => {
    expect(shellQuote("web1")).toBe("web1");
    expect(shellQuote("256M")).toBe("256M");
    expect(shellQuote("console=ttyS0 root=/dev/vda")).toBe("'console=ttyS0 root=/dev/vda'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote("$HOME")).toBe("'$HOME'");
  });

  it("writes a POST with its JSON body and the token from the environment", () => {
    const text = curlCommand({ method: "POST", path: "/api/v1/vms", body: { name: "web1", cpus: 2 } }, "https://host:8006");
    expect(text).toBe(
      `curl -k -X POST https://host:8006/api/v1/vms -H "Authorization: Bearer $VESSEL_TOKEN" -H 'Content-Type: application/json' --data '{"name":"web1","cpus":2}'`,
    );
  });

  it("writes a vessel command for this server", () => {
    expect(vesselCommand(["vm", "create", "web 1", "--memory", "256M"], "https://host:8006")).toBe(
      "vessel vm create 'web 1' --memory 256M --server https://host:8006",
    );
  });
});
