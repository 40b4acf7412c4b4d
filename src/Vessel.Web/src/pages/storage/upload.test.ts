import { describe, expect, it } from "vitest";
import { checkName } from "../../wizard/validation";
import { formatOfFile, volumeNameOfFile } from "./upload";

describe("an uploaded file's volume", () => {
  it("takes the file's name without its image extension, as a valid volume name", () => {
    expect(volumeNameOfFile("debian-12.qcow2")).toBe("debian-12");
    expect(volumeNameOfFile("rootfs.ext4")).toBe("rootfs");
    expect(volumeNameOfFile("alpine 3.20.iso")).toBe("alpine-3.20");
    expect(volumeNameOfFile("disk.img.xz")).toBe("disk");
    expect(volumeNameOfFile("--.raw")).toBe("volume");
    for (const name of ["my disk (1).qcow2", "é.img", "x".repeat(80) + ".raw"]) expect(checkName("volume", volumeNameOfFile(name))).toBeNull();
  });

  it("guesses the format from the extension, raw otherwise", () => {
    expect(formatOfFile("a.ISO")).toBe("iso");
    expect(formatOfFile("a.qcow2")).toBe("qcow2");
    expect(formatOfFile("rootfs.ext4")).toBe("raw");
  });
});
