import type { Schemas, VmDetails } from "../../api/client";

export type VmEditRequest = Schemas["VmEditRequest"];

const MiB = 1024 * 1024;

/**
 * One editable setting of the Hardware tab: how its draft (always a string, as inputs hold
 * it) starts from the VM, becomes a PATCH body and a `vessel vm edit` option, which privilege
 * changes it and which of the server's pendingChanges keys mark it "at the next start".
 */
export interface HardwareField {
  key: string;
  label: string;
  privilege: string;
  input: "number" | "text" | "checkbox" | "select";
  options?: readonly string[];
  unit?: string;
  /** The server's pendingChanges keys for this setting; none: it applies live. */
  pendingKeys: readonly string[];
  /** Whether a running VM takes the change at once (else at its next start). */
  live: boolean;
  /** Templates are read-only but for these. */
  onTemplates: boolean;
  initial: (vm: VmDetails) => string;
  /** The PATCH body, or a sentence when the draft is not a valid value. */
  request: (draft: string, vm: VmDetails) => VmEditRequest | string;
  /** The `vessel vm edit` options; null: the command line has no option for it. */
  cli: (draft: string) => string[] | null;
}

function wholeNumber(label: string, draft: string, min: number, max: number): number | string {
  const value = Number(draft.trim());
  return Number.isInteger(value) && value >= min && value <= max ? value : `${label} is a whole number from ${min} to ${max}.`;
}

const bool = (draft: string) => draft === "true";

export const hardwareFields: readonly HardwareField[] = [
  {
    key: "cpus",
    label: "Harts",
    privilege: "VM.Config.CPU",
    input: "number",
    pendingKeys: ["cpus"],
    live: false,
    onTemplates: false,
    initial: (vm) => String(vm.cpus),
    request: (d) => {
      const n = wholeNumber("Harts", d, 1, 64);
      return typeof n === "string" ? n : { cpus: n };
    },
    cli: (d) => ["--cpus", d.trim()],
  },
  {
    key: "memory",
    label: "Memory",
    unit: "MiB",
    privilege: "VM.Config.Memory",
    input: "number",
    pendingKeys: ["memory"],
    live: false,
    onTemplates: false,
    initial: (vm) => String(Math.round(vm.memoryBytes / MiB)),
    request: (d) => {
      const n = wholeNumber("Memory", d, 1, 1024 * 1024);
      return typeof n === "string" ? n : { memoryBytes: n * MiB };
    },
    cli: (d) => ["--memory", `${d.trim()}M`],
  },
  {
    key: "balloon",
    label: "Balloon device",
    privilege: "VM.Config.Memory",
    input: "checkbox",
    pendingKeys: ["balloon"],
    live: false,
    onTemplates: true,
    initial: (vm) => String(vm.balloon ?? false),
    request: (d) => ({ balloon: bool(d) }),
    cli: () => null,
  },
  {
    key: "balloonBytes",
    label: "Balloon target",
    unit: "MiB",
    privilege: "VM.Config.Memory",
    input: "number",
    pendingKeys: [],
    live: true,
    onTemplates: true,
    initial: (vm) => (vm.balloonBytes ? String(Math.round(vm.balloonBytes / MiB)) : ""),
    request: (d, vm) => {
      const n = wholeNumber("The balloon target", d, 16, Math.round(vm.memoryBytes / MiB));
      return typeof n === "string" ? n : { balloonBytes: n * MiB };
    },
    cli: (d) => ["--balloon", `${d.trim()}M`],
  },
  {
    key: "cpuEngine",
    label: "CPU engine",
    privilege: "VM.Config.CPU",
    input: "select",
    options: ["jit", "interpreter"],
    pendingKeys: ["cpu-engine"],
    live: false,
    onTemplates: true,
    initial: (vm) => vm.cpuEngine ?? "jit",
    request: (d) => ({ cpuEngine: d }),
    cli: () => null,
  },
  {
    key: "display",
    label: "Display",
    privilege: "VM.Config.Options",
    input: "select",
    options: ["none", "vnc"],
    pendingKeys: ["display"],
    live: false,
    onTemplates: true,
    initial: (vm) => vm.display ?? "none",
    request: (d) => ({ display: d }),
    cli: (d) => ["--display", d],
  },
  {
    key: "rng",
    label: "Random number generator",
    privilege: "VM.Config.Options",
    input: "checkbox",
    pendingKeys: ["rng"],
    live: false,
    onTemplates: true,
    initial: (vm) => String(vm.rng ?? false),
    request: (d) => ({ rng: bool(d) }),
    cli: () => null,
  },
  {
    key: "iso",
    label: "ISO in the optical drive",
    privilege: "VM.Config.CDROM",
    input: "text",
    pendingKeys: ["iso"],
    live: true,
    onTemplates: false,
    initial: (vm) => vm.iso ?? "",
    request: (d) => ({ iso: d.trim() }),
    cli: (d) => ["--iso", d.trim()],
  },
  {
    key: "append",
    label: "Kernel command line",
    privilege: "VM.Config.Options",
    input: "text",
    pendingKeys: ["append"],
    live: false,
    onTemplates: false,
    initial: (vm) => vm.append ?? "",
    request: (d) => ({ append: d }),
    cli: (d) => ["--append", d],
  },
  {
    key: "autostart",
    label: "Start with the host",
    privilege: "VM.Config.Options",
    input: "checkbox",
    pendingKeys: [],
    live: true,
    onTemplates: false,
    initial: (vm) => String(vm.autostart?.enabled ?? false),
    request: (d, vm) => ({ autostart: { enabled: bool(d), order: vm.autostart?.order ?? 0, delaySeconds: vm.autostart?.delaySeconds ?? 0 } }),
    cli: (d) => ["--autostart", d],
  },
  {
    key: "autostartOrder",
    label: "Start order",
    privilege: "VM.Config.Options",
    input: "number",
    pendingKeys: [],
    live: true,
    onTemplates: false,
    initial: (vm) => String(vm.autostart?.order ?? 0),
    request: (d, vm) => {
      const n = wholeNumber("The start order", d, 0, 10000);
      return typeof n === "string" ? n : { autostart: { enabled: vm.autostart?.enabled ?? false, order: n, delaySeconds: vm.autostart?.delaySeconds ?? 0 } };
    },
    cli: (d) => ["--start-order", d.trim()],
  },
  {
    key: "autostartDelay",
    label: "Start delay",
    unit: "s",
    privilege: "VM.Config.Options",
    input: "number",
    pendingKeys: [],
    live: true,
    onTemplates: false,
    initial: (vm) => String(vm.autostart?.delaySeconds ?? 0),
    request: (d, vm) => {
      const n = wholeNumber("The start delay", d, 0, 3600);
      return typeof n === "string" ? n : { autostart: { enabled: vm.autostart?.enabled ?? false, order: vm.autostart?.order ?? 0, delaySeconds: n } };
    },
    cli: (d) => ["--start-delay", d.trim()],
  },
  {
    key: "description",
    label: "Description",
    privilege: "VM.Config.Options",
    input: "text",
    pendingKeys: [],
    live: true,
    onTemplates: true,
    initial: (vm) => vm.description ?? "",
    request: (d) => ({ description: d }),
    cli: (d) => ["--description", d],
  },
  {
    key: "tags",
    label: "Tags",
    privilege: "VM.Config.Options",
    input: "text",
    pendingKeys: [],
    live: true,
    onTemplates: true,
    initial: (vm) => (vm.tags ?? []).join(", "),
    request: (d) => ({ tags: splitTags(d) }),
    cli: (d) => splitTags(d).flatMap((t) => ["--tag", t]),
  },
];

/** Tags as typed: separated by commas or spaces. */
export function splitTags(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/**
 * The one PATCH body and `vessel vm edit` line of several changed fields (Show as command);
 * the autostart parts merge into one object. The command is null when a field has no option.
 */
export function combinedEdit(vm: VmDetails, changes: readonly { field: HardwareField; draft: string }[]): { body: VmEditRequest; cli: string[] | null } {
  let body: VmEditRequest = {};
  let cli: string[] | null = ["vm", "edit", vm.name];
  for (const { field, draft } of changes) {
    const request = field.request(draft, vm);
    if (typeof request === "string") continue;
    if (request.autostart && body.autostart) {
      const a = body.autostart;
      const b = request.autostart;
      const base = { enabled: vm.autostart?.enabled ?? false, order: vm.autostart?.order ?? 0, delaySeconds: vm.autostart?.delaySeconds ?? 0 };
      body = { ...body, autostart: { enabled: b.enabled !== base.enabled ? b.enabled : a.enabled, order: b.order !== base.order ? b.order : a.order, delaySeconds: b.delaySeconds !== base.delaySeconds ? b.delaySeconds : a.delaySeconds } };
    } else {
      body = { ...body, ...request };
    }
    const options = field.cli(draft);
    cli = cli && options ? [...cli, ...options] : null;
  }
  return { body, cli };
}
