/**
 * The server's rules for a new VM, written once for the browser so that each step can say what
 * is wrong while the user types, in the server's own sentences. Each check answers null (fine)
 * or the sentence the server would answer. The sources, kept in step with these:
 * Api/Names.cs (names), Vmm/VmDefinitions.cs (harts, memory, tags, port forwards, host files,
 * MAC), Vmm/VmCreation.cs (disks, NICs, boot), Storage/VolumeService.cs (sizes),
 * Api/NetworkEndpoints.cs (bridges).
 */

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const maxNameLength = 63;
export const maxHarts = 8;
export const minMemoryBytes = 16 * MiB;
export const maxMemoryBytes = 64 * GiB;
export const minVolumeBytes = MiB;
export const maxVolumeBytes = 64 * 1024 * GiB;
export const maxDisks = 6;
export const maxNics = 4;
export const maxTags = 32;

/** .NET's char.IsControl: C0, DEL and C1. */
function isControl(c: string): boolean {
  const code = c.charCodeAt(0);
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

function isAsciiLetterOrDigit(c: string): boolean {
  return /^[A-Za-z0-9]$/.test(c);
}

function printable(text: string, length: number): string {
  return text.length <= length ? text : text.slice(0, length) + "…";
}

/** Names.Check: every name (VM, tag, pool, volume, network) follows it; kind is "VM", "tag", ... */
export function checkName(kind: string, name: string | null | undefined): string | null {
  if (!name) return `A ${kind} needs a name.`;
  if (name.length > maxNameLength) return `A ${kind} name is at most ${maxNameLength} characters long, and this one has ${name.length}.`;
  for (const c of name) {
    // C# walks UTF-16 units; an astral character is never a letter or digit either way.
    const unit = c.length > 1 ? c[0]! : c;
    if (isControl(unit)) return `A ${kind} name cannot hold control characters (this one has U+${unit.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}).`;
    if (unit === "/" || unit === "\\") return `A ${kind} name cannot hold '${unit}': names become file names; use letters, digits, '.', '-' and '_'.`;
    if (!(isAsciiLetterOrDigit(unit) || unit === "." || unit === "-" || unit === "_")) {
      return `A ${kind} name may hold only letters, digits, '.', '-' and '_', and '${printable(name, 40)}' has '${unit}'.`;
    }
  }
  if (!isAsciiLetterOrDigit(name[0]!)) return `A ${kind} name must start with a letter or digit, and '${name}' starts with '${name[0]}'.`;
  return null;
}

/** Tags as the user types them: separated by spaces or commas. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((t) => t.length > 0))];
}

/** VmDefinitions.JoinTags. */
export function checkTags(tags: readonly string[]): string | null {
  for (const tag of tags) {
    const error = checkName("tag", tag);
    if (error) return error;
  }
  const distinct = new Set(tags).size;
  return distinct > maxTags ? `A VM has at most ${maxTags} tags, and ${distinct} were given.` : null;
}

/**
 * A whole number typed in a field ("512"), or null when it is not one. The server takes JSON
 * numbers; what is not a number never reaches it, so this sentence is the interface's own.
 */
export function parseWholeNumber(text: string): number | null {
  const trimmed = text.trim();
  return /^[0-9]+$/.test(trimmed) ? Number(trimmed) : null;
}

export function notAWholeNumber(what: string, text: string): string {
  return `${what} is a whole number, and '${printable(text, 40)}' is not one.`;
}

/** VmDefinitions.CheckCpus. */
export function checkHarts(harts: number): string | null {
  return harts >= 1 && harts <= maxHarts ? null : `A VM has 1 to ${maxHarts} harts, not ${harts}.`;
}

/** VmDefinitions.CheckMemory (bytes). */
export function checkMemory(bytes: number): string | null {
  if (bytes < minMemoryBytes) return `A VM needs at least 16 MiB of memory, and ${bytes} bytes is less.`;
  if (bytes > maxMemoryBytes) return `A VM has at most 64 GiB of memory (what the virt board addresses), and ${bytes} bytes is more.`;
  if (bytes % (2 * MiB) !== 0) return `A VM's memory must be a multiple of 2 MiB, and ${bytes} bytes is not.`;
  return null;
}

/** VolumeService.CheckSize (bytes). */
export function checkVolumeSize(bytes: number): string | null {
  return bytes < minVolumeBytes || bytes > maxVolumeBytes ? `A volume's size must be between 1 MiB and 64 TiB, and ${bytes} bytes is not.` : null;
}

/** VmDefinitions.CheckHostFile, the part the browser can check (whether the file exists is the server's to say). */
export function checkHostPath(what: string, path: string): string | null {
  return path.startsWith("/") ? null : `The ${what} must be given as an absolute path on the server's host, and '${printable(path, 63)}' is not one.`;
}

/** VmCreation.CheckAppend. */
export function checkAppend(append: string): string | null {
  return append.length > 2048 || [...append].some(isControl) ? "A kernel command line is one line of at most 2048 characters." : null;
}

function isPort(text: string): boolean {
  if (!/^[0-9]+$/.test(text)) return false;
  const port = Number(text);
  return port > 0 && port < 65536;
}

/** VmDefinitions.CheckForward: QEMU's hostfwd spelling, tcp:[ADDR]:HOSTPORT-:GUESTPORT. */
export function checkPortForward(forward: string): string | null {
  const halves = forward.split("-");
  let ok = halves.length === 2;
  if (ok) {
    const host = halves[0]!.split(":");
    const guest = halves[1]!.split(":");
    ok = host.length === 3 && (host[0] === "tcp" || host[0] === "udp") && isPort(host[2]!) && guest.length === 2 && isPort(guest[1]!);
  }
  return ok ? null : `The port forward '${printable(forward, 63)}' is not one; write it like tcp::2222-:22 or tcp:0.0.0.0:8080-:80.`;
}

/** Port forwards as the user types them: separated by spaces or commas. */
export function parsePortForwards(text: string): string[] {
  return text.split(/[\s,]+/).filter((f) => f.length > 0);
}

/** VmCreation.NicsAsync: forwards only on a nat network. */
export function checkForwardsOnNetwork(forwards: readonly string[], network: string, kind: string | undefined): string | null {
  return forwards.length > 0 && kind !== undefined && kind !== "nat" ? `Port forwards belong to NICs on a nat network, and '${network}' is ${kind}.` : null;
}

/** VmDefinitions.CheckMac. */
export function checkMac(mac: string): string | null {
  const parts = mac.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9A-Fa-f]{2}$/.test(p))) return `The MAC address '${printable(mac, 63)}' is not one; write it like 52:54:00:12:34:56.`;
  return (parseInt(parts[0]!, 16) & 1) !== 0 ? `The MAC address ${mac} is a multicast address; a NIC needs a unicast one (an even first byte).` : null;
}

export function checkDiskCount(count: number): string | null {
  return count > maxDisks ? `A VM has at most ${maxDisks} disks, and ${count} were given.` : null;
}

export function checkNicCount(count: number): string | null {
  return count > maxNics ? `A VM has at most ${maxNics} NICs, and ${count} were given.` : null;
}

/** VmCreation.CreateAsync: what boots the VM. */
export function checkBoot(kernel: string | null, initrd: string | null, firmware: string): string | null {
  if (!kernel && firmware === "builtin") return "A VM needs a kernel (or firmware that boots from its disk, such as uboot), or a template to deploy from.";
  if (initrd && !kernel) return "An initrd needs a kernel.";
  return null;
}

/** NetworkEndpoints.CreateAsync: a bridged network's host bridge. */
export function checkBridge(bridge: string): string | null {
  return !bridge || bridge.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(bridge)
    ? "A bridged network names its host bridge (bridge=NAME, at most 15 letters, digits, '-', '_' or '.')."
    : null;
}

export const wizardSteps = ["General", "Source", "System", "Disks", "Network", "Confirm"] as const;
export type WizardStep = (typeof wizardSteps)[number];

/**
 * The step a refusal of the final POST belongs to, from the server's sentence, so that it is
 * shown next to what caused it (the server answers one sentence, not a field).
 */
export function stepOfRefusal(sentence: string): WizardStep {
  const s = sentence.toLowerCase();
  if (/\btag\b|\btags\b/.test(s)) return "General";
  if (s.startsWith("a vm name") || s.startsWith("a vm needs a name") || s.startsWith("there is already a vm") || s.includes("description") || s.includes("no pool") || s.includes("pool named")) return "General";
  if (s.includes("harts") || s.includes("memory") || s.includes("cpu engine") || s.includes("display") || s.includes("console")) return "System";
  if (s.includes("port forward") || s.includes("network") || s.includes("nic") || s.includes("mac address")) return "Network";
  if (s.startsWith("disk ") || s.includes("disks") || s.includes("volume's size") || s.includes("file to import") || s.includes("writable disk")) return "Disks";
  return "Source";
}
