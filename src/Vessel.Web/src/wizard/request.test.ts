import { describe, expect, it } from "vitest";
import { buildRequest, checkState, cliWords, initialState, newDisk, type WizardState } from "./request";
import { GiB, MiB } from "./validation";

const context = { networkKinds: new Map([["default", "nat"], ["lan", "isolated"]]) };
const state = (change: Partial<WizardState>): WizardState => ({ ...initialState, name: "web1", kernel: "/srv/Image", ...change });

describe("the wizard's request and command line", () => {
  it("sends only what differs from the server's defaults, and the CLI says the same", () => {
    const s = state({ initrd: "/srv/initrd.gz", tags: "prod web", start: true });
    expect(buildRequest(s)).toEqual({ name: "web1", tags: ["prod", "web"], kernel: "/srv/Image", initrd: "/srv/initrd.gz", append: "console=ttyS0", cpus: 1, memoryBytes: 256 * MiB });
    expect(cliWords(s)).toEqual(["vm", "create", "web1", "--kernel", "/srv/Image", "--initrd", "/srv/initrd.gz", "--append", "console=ttyS0", "--cpus", "1", "--memory", "256M", "--tag", "prod", "--tag", "web", "--start"]);
  });

  it("spells disks and NICs as vessel vm create's --drive and --net", () => {
    const s = state({
      pool: "fast",
      disks: [{ ...newDisk(), sizeGiB: "4" }, { kind: "volume", sizeGiB: "", volume: "default/data", readOnly: true }],
      nics: [
        { network: "default", forwards: "tcp::2222-:22" },
        { network: "lan", forwards: "" },
      ],
    });
    const request = buildRequest(s);
    expect(request.disks).toEqual([
      { sizeBytes: 4 * GiB, pool: "fast", readOnly: false },
      { volume: "default/data", readOnly: true },
    ]);
    expect(request.nics).toEqual([{ network: "default", portForwards: ["tcp::2222-:22"] }, { network: "lan" }]);
    const words = cliWords(s).join(" ");
    expect(words).toContain("--drive size=4G,pool=fast --drive volume=default/data,readonly=on");
    expect(words).toContain("--net user,hostfwd=tcp::2222-:22 --net network=lan");
  });

  it("says --net none for a VM without network cards", () => {
    const s = state({ nics: [] });
    expect(buildRequest(s).nics).toEqual([]);
    expect(cliWords(s)).toContain("none");
  });

  it("deploys a template with the overrides it takes, and no boot files", () => {
    const s = state({ source: "template", template: "base", cloneMode: "full", display: "vnc" });
    const request = buildRequest(s);
    expect(request).toMatchObject({ template: "base", cloneMode: "full", display: "vnc" });
    expect(request.kernel).toBeUndefined();
    expect(request.disks).toBeUndefined();
    expect(cliWords(s).slice(0, 7)).toEqual(["vm", "create", "web1", "--template", "base", "--clone-mode", "full"]);
  });

  it("boots a disk image with uboot as disk 0", () => {
    const s = state({ source: "disk", sourceVolume: "default/debian", firmware: "uboot" });
    expect(buildRequest(s)).toMatchObject({ firmware: "uboot", disks: [{ volume: "default/debian", readOnly: false }] });
    expect(cliWords(s)).toEqual(expect.arrayContaining(["--bios", "uboot", "--drive", "volume=default/debian"]));
  });

  it("puts each sentence on its field, and forwards on an isolated network are refused", () => {
    const errors = checkState(state({ name: "", harts: "9", nics: [{ network: "lan", forwards: "tcp::2222-:22" }] }), context);
    expect(errors.name).toBe("A VM needs a name.");
    expect(errors.harts).toBe("A VM has 1 to 8 harts, not 9.");
    expect(errors["nic0.forwards"]).toBe("Port forwards belong to NICs on a nat network, and 'lan' is isolated.");
    expect(checkState(state({}), context)).toEqual({});
  });
});
