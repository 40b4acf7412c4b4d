import { describe, expect, it } from "vitest";
import {
  checkAppend,
  checkBoot,
  checkBridge,
  checkDiskCount,
  checkForwardsOnNetwork,
  checkHarts,
  checkHostPath,
  checkMac,
  checkMemory,
  checkName,
  checkNicCount,
  checkPortForward,
  checkTags,
  checkVolumeSize,
  GiB,
  MiB,
  notAWholeNumber,
  parsePortForwards,
  parseTags,
  parseWholeNumber,
  stepOfRefusal,
} from "./validation";

// The sentences are the server's (Api/Names.cs, Vmm/VmDefinitions.cs, Vmm/VmCreation.cs,
// Storage/VolumeService.cs): the wizard must say what the server would say, word for word.

describe("names (Names.Check)", () => {
  it("accepts letters, digits, '.', '-' and '_' starting with a letter or digit, up to 63", () => {
    for (const name of ["web1", "a", "0db", "web-1.prod_x", "x".repeat(63)]) expect(checkName("VM", name)).toBeNull();
  });

  it("asks for a name when there is none", () => {
    expect(checkName("VM", "")).toBe("A VM needs a name.");
    expect(checkName("tag", undefined)).toBe("A tag needs a name.");
  });

  it("counts the characters of a name too long", () => {
    expect(checkName("VM", "x".repeat(64))).toBe("A VM name is at most 63 characters long, and this one has 64.");
  });

  it("names a control character by its code point", () => {
    expect(checkName("VM", "web\u0007")).toBe("A VM name cannot hold control characters (this one has U+0007).");
    expect(checkName("VM", "a\u009fb")).toBe("A VM name cannot hold control characters (this one has U+009F).");
  });

  it("explains slashes, which would make paths", () => {
    expect(checkName("VM", "a/b")).toBe("A VM name cannot hold '/': names become file names; use letters, digits, '.', '-' and '_'.");
    expect(checkName("network", "a\\b")).toBe("A network name cannot hold '\\': names become file names; use letters, digits, '.', '-' and '_'.");
  });

  it("quotes the name and the character it may not hold (the name cut at 40)", () => {
    expect(checkName("VM", "my vm")).toBe("A VM name may hold only letters, digits, '.', '-' and '_', and 'my vm' has ' '.");
    expect(checkName("VM", "é")).toBe("A VM name may hold only letters, digits, '.', '-' and '_', and 'é' has 'é'.");
    const long = "a".repeat(45) + "!";
    expect(checkName("volume", long)).toBe(`A volume name may hold only letters, digits, '.', '-' and '_', and '${"a".repeat(40)}…' has '!'.`);
  });

  it("wants a letter or digit first", () => {
    expect(checkName("VM", "-web")).toBe("A VM name must start with a letter or digit, and '-web' starts with '-'.");
    expect(checkName("pool", ".hidden")).toBe("A pool name must start with a letter or digit, and '.hidden' starts with '.'.");
  });

  it("checks each character before the first one (the server's order)", () => {
    expect(checkName("VM", "-a b")).toBe("A VM name may hold only letters, digits, '.', '-' and '_', and '-a b' has ' '.");
  });
});

describe("tags", () => {
  it("splits on spaces and commas, once each", () => {
    expect(parseTags(" prod, web  prod,,db ")).toEqual(["prod", "web", "db"]);
  });

  it("checks each tag as a name and counts at most 32", () => {
    expect(checkTags(["prod", "web"])).toBeNull();
    expect(checkTags(["prod", "we b"])).toBe("A tag name may hold only letters, digits, '.', '-' and '_', and 'we b' has ' '.");
    expect(checkTags(Array.from({ length: 33 }, (_, i) => `t${i}`))).toBe("A VM has at most 32 tags, and 33 were given.");
    expect(checkTags(Array.from({ length: 32 }, (_, i) => `t${i}`))).toBeNull();
  });
});

describe("harts and memory", () => {
  it("takes 1 to 8 harts", () => {
    expect(checkHarts(1)).toBeNull();
    expect(checkHarts(8)).toBeNull();
    expect(checkHarts(0)).toBe("A VM has 1 to 8 harts, not 0.");
    expect(checkHarts(9)).toBe("A VM has 1 to 8 harts, not 9.");
  });

  it("takes 16 MiB to 64 GiB of memory in steps of 2 MiB, in bytes as the server counts", () => {
    expect(checkMemory(16 * MiB)).toBeNull();
    expect(checkMemory(64 * GiB)).toBeNull();
    expect(checkMemory(256 * MiB)).toBeNull();
    expect(checkMemory(8 * MiB)).toBe("A VM needs at least 16 MiB of memory, and 8388608 bytes is less.");
    expect(checkMemory(0)).toBe("A VM needs at least 16 MiB of memory, and 0 bytes is less.");
    expect(checkMemory(65 * GiB)).toBe("A VM has at most 64 GiB of memory (what the virt board addresses), and 69793218560 bytes is more.");
    expect(checkMemory(257 * MiB)).toBe("A VM's memory must be a multiple of 2 MiB, and 269484032 bytes is not.");
  });

  it("reads whole numbers only", () => {
    expect(parseWholeNumber(" 512 ")).toBe(512);
    expect(parseWholeNumber("5.5")).toBeNull();
    expect(parseWholeNumber("-1")).toBeNull();
    expect(parseWholeNumber("")).toBeNull();
    expect(notAWholeNumber("Memory (MiB)", "lots")).toBe("Memory (MiB) is a whole number, and 'lots' is not one.");
  });
});

describe("boot files and the command line", () => {
  it("wants host paths absolute", () => {
    expect(checkHostPath("kernel", "/srv/Image")).toBeNull();
    expect(checkHostPath("kernel", "Image")).toBe("The kernel must be given as an absolute path on the server's host, and 'Image' is not one.");
    expect(checkHostPath("initrd", "./initrd.gz")).toBe("The initrd must be given as an absolute path on the server's host, and './initrd.gz' is not one.");
  });

  it("needs a kernel or a firmware that boots a disk, and an initrd only with a kernel", () => {
    expect(checkBoot("/k", null, "builtin")).toBeNull();
    expect(checkBoot(null, null, "uboot")).toBeNull();
    expect(checkBoot(null, null, "builtin")).toBe("A VM needs a kernel (or firmware that boots from its disk, such as uboot), or a template to deploy from.");
    expect(checkBoot(null, "/i", "uboot")).toBe("An initrd needs a kernel.");
  });

  it("keeps the command line to one line of 2048 characters", () => {
    expect(checkAppend("console=ttyS0 panic=-1 quiet")).toBeNull();
    expect(checkAppend("x".repeat(2048))).toBeNull();
    expect(checkAppend("x".repeat(2049))).toBe("A kernel command line is one line of at most 2048 characters.");
    expect(checkAppend("a\nb")).toBe("A kernel command line is one line of at most 2048 characters.");
  });
});

describe("disks and volumes", () => {
  it("sizes a volume between 1 MiB and 64 TiB", () => {
    expect(checkVolumeSize(MiB)).toBeNull();
    expect(checkVolumeSize(64 * 1024 * GiB)).toBeNull();
    expect(checkVolumeSize(MiB - 1)).toBe("A volume's size must be between 1 MiB and 64 TiB, and 1048575 bytes is not.");
    expect(checkVolumeSize(64 * 1024 * GiB + 1)).toBe("A volume's size must be between 1 MiB and 64 TiB, and 70368744177665 bytes is not.");
  });

  it("gives a VM at most 6 disks", () => {
    expect(checkDiskCount(6)).toBeNull();
    expect(checkDiskCount(7)).toBe("A VM has at most 6 disks, and 7 were given.");
  });
});

describe("network cards", () => {
  it("reads port forwards in QEMU's hostfwd spelling", () => {
    for (const ok of ["tcp::2222-:22", "tcp:0.0.0.0:8080-:80", "udp::53-:53", "tcp:127.0.0.1:65535-10.0.2.15:1"]) expect(checkPortForward(ok)).toBeNull();
    for (const bad of ["tcp:2222-:22", "sctp::1-:2", "tcp::0-:22", "tcp::2222-:65536", "tcp::22", "tcp::a-:22", "tcp::+22-:22", "tcp::1-:2-:3"]) {
      expect(checkPortForward(bad)).toBe(`The port forward '${bad}' is not one; write it like tcp::2222-:22 or tcp:0.0.0.0:8080-:80.`);
    }
  });

  it("splits forwards on spaces and commas", () => {
    expect(parsePortForwards("tcp::2222-:22, tcp::8080-:80")).toEqual(["tcp::2222-:22", "tcp::8080-:80"]);
  });

  it("puts forwards only on nat networks", () => {
    expect(checkForwardsOnNetwork(["tcp::2222-:22"], "default", "nat")).toBeNull();
    expect(checkForwardsOnNetwork([], "lan", "isolated")).toBeNull();
    expect(checkForwardsOnNetwork(["tcp::2222-:22"], "lan", "isolated")).toBe("Port forwards belong to NICs on a nat network, and 'lan' is isolated.");
  });

  it("takes unicast MACs", () => {
    expect(checkMac("52:54:00:12:34:56")).toBeNull();
    expect(checkMac("52:54:00:12:34")).toBe("The MAC address '52:54:00:12:34' is not one; write it like 52:54:00:12:34:56.");
    expect(checkMac("53:54:00:12:34:56")).toBe("The MAC address 53:54:00:12:34:56 is a multicast address; a NIC needs a unicast one (an even first byte).");
  });

  it("gives a VM at most 4 NICs", () => {
    expect(checkNicCount(4)).toBeNull();
    expect(checkNicCount(5)).toBe("A VM has at most 4 NICs, and 5 were given.");
  });

  it("names a bridged network's host bridge in 15 characters", () => {
    expect(checkBridge("br0")).toBeNull();
    expect(checkBridge("")).toBe("A bridged network names its host bridge (bridge=NAME, at most 15 letters, digits, '-', '_' or '.').");
    expect(checkBridge("a".repeat(16))).toBe("A bridged network names its host bridge (bridge=NAME, at most 15 letters, digits, '-', '_' or '.').");
  });
});

describe("the step of a refusal", () => {
  it("puts each of the server's sentences next to the step it concerns", () => {
    expect(stepOfRefusal("There is already a VM named 'web1'.")).toBe("General");
    expect(stepOfRefusal("There is no pool named 'fast'.")).toBe("General");
    expect(stepOfRefusal(checkTags(["a b"])!)).toBe("General");
    expect(stepOfRefusal("The kernel '/nope' does not exist on the server's host.")).toBe("Source");
    expect(stepOfRefusal("There is no volume 'x' in pool 'default'.")).toBe("Source");
    expect(stepOfRefusal(checkMemory(3 * MiB)!)).toBe("System");
    expect(stepOfRefusal(checkHarts(9)!)).toBe("System");
    expect(stepOfRefusal("Disk 0 needs exactly one of a volume, a file to import or a size.")).toBe("Disks");
    expect(stepOfRefusal("Volume 'rootfs' is already a writable disk of another VM.")).toBe("Disks");
    expect(stepOfRefusal("There is no network named 'lan'.")).toBe("Network");
    expect(stepOfRefusal(checkPortForward("x")!)).toBe("Network");
  });
});
