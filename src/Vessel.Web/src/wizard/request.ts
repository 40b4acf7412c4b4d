import type { Schemas } from "../api/client";
import type { ApiCall } from "../api/commands";
import {
  checkAppend,
  checkBoot,
  checkDiskCount,
  checkForwardsOnNetwork,
  checkHarts,
  checkHostPath,
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
  type WizardStep,
} from "./validation";

export type VmCreateRequest = Schemas["VmCreateRequest"];
export type SourceKind = "kernel" | "disk" | "iso" | "template";

/** A disk of the Disks step: a new empty one of a size (GiB), or an existing volume. */
export interface DiskChoice {
  kind: "new" | "volume";
  sizeGiB: string;
  volume: string;
  readOnly: boolean;
}

export interface NicChoice {
  network: string;
  forwards: string;
}

/** What the wizard's fields hold, as typed (text fields stay text until they are checked). */
export interface WizardState {
  name: string;
  pool: string;
  tags: string;
  description: string;
  source: SourceKind;
  template: string;
  cloneMode: "linked" | "full";
  iso: string;
  sourceVolume: string;
  kernel: string;
  initrd: string;
  append: string;
  harts: string;
  memoryMiB: string;
  firmware: "builtin" | "uboot" | "none";
  cpuEngine: "jit" | "interpreter";
  display: "none" | "vnc";
  disks: DiskChoice[];
  nics: NicChoice[];
  start: boolean;
}

export const initialState: WizardState = {
  name: "",
  pool: "default",
  tags: "",
  description: "",
  source: "kernel",
  template: "",
  cloneMode: "linked",
  iso: "",
  sourceVolume: "",
  kernel: "",
  initrd: "",
  append: "console=ttyS0",
  harts: "1",
  memoryMiB: "256",
  firmware: "builtin",
  cpuEngine: "jit",
  display: "none",
  disks: [],
  nics: [{ network: "default", forwards: "" }],
  start: false,
};

export function newDisk(): DiskChoice {
  return { kind: "new", sizeGiB: "8", volume: "", readOnly: false };
}

/** A field's address: the step it is on and its key (e.g. `disk1.size`), for its sentence. */
export type FieldErrors = Partial<Record<string, string>>;

/** What the wizard knows of the server's objects when it checks: each network's kind. */
export interface CheckContext {
  networkKinds: ReadonlyMap<string, string>;
}

export const fieldSteps: Record<string, WizardStep> = {};

function put(errors: FieldErrors, step: WizardStep, field: string, error: string | null) {
  fieldSteps[field] = step;
  if (error) errors[field] = error;
}

/** Every field's sentence (absent: fine), with the server's rules (validation.ts). */
export function checkState(state: WizardState, context: CheckContext): FieldErrors {
  const errors: FieldErrors = {};
  put(errors, "General", "name", checkName("VM", state.name));
  put(errors, "General", "tags", checkTags(parseTags(state.tags)));
  put(errors, "General", "description", state.description.length > 1024 ? `A description is at most 1024 characters long, and this one has ${state.description.length}.` : null);

  switch (state.source) {
    case "template":
      put(errors, "Source", "template", state.template ? null : "Choose the template to deploy from.");
      break;
    case "iso":
      put(errors, "Source", "iso", state.iso ? null : "Choose the ISO image to install from.");
      break;
    case "disk":
      put(errors, "Source", "sourceVolume", state.sourceVolume ? null : "Choose the disk image (a volume), or upload one.");
      break;
    case "kernel":
      put(errors, "Source", "kernel", state.kernel ? checkHostPath("kernel", state.kernel) : checkBoot(null, null, state.firmware));
      put(errors, "Source", "initrd", state.initrd ? checkHostPath("initrd", state.initrd) ?? checkBoot(state.kernel || null, state.initrd, state.firmware) : null);
      put(errors, "Source", "append", checkAppend(state.append));
      break;
  }

  const harts = parseWholeNumber(state.harts);
  put(errors, "System", "harts", harts === null ? notAWholeNumber("Harts", state.harts) : checkHarts(harts));
  const memory = parseWholeNumber(state.memoryMiB);
  put(errors, "System", "memory", memory === null ? notAWholeNumber("Memory (MiB)", state.memoryMiB) : checkMemory(memory * MiB));
  if (state.source !== "kernel" && state.source !== "template") {
    put(errors, "System", "firmware", checkBoot(null, null, state.firmware));
  }

  if (state.source !== "template") {
    const count = state.disks.length + (state.source === "disk" ? 1 : 0);
    put(errors, "Disks", "disks", checkDiskCount(count));
    state.disks.forEach((disk, i) => {
      if (disk.kind === "new") {
        const size = parseWholeNumber(disk.sizeGiB);
        put(errors, "Disks", `disk${i}.size`, size === null ? notAWholeNumber("A size (GiB)", disk.sizeGiB) : checkVolumeSize(size * GiB));
      } else {
        put(errors, "Disks", `disk${i}.volume`, disk.volume ? null : "Choose the volume of this disk.");
      }
    });
  }

  put(errors, "Network", "nics", checkNicCount(state.nics.length));
  state.nics.forEach((nic, i) => {
    const forwards = parsePortForwards(nic.forwards);
    const bad = forwards.map(checkPortForward).find((e) => e !== null) ?? null;
    put(errors, "Network", `nic${i}.forwards`, bad ?? checkForwardsOnNetwork(forwards, nic.network, context.networkKinds.get(nic.network)));
  });
  return errors;
}

export function errorsOfStep(errors: FieldErrors, step: WizardStep): string[] {
  return Object.keys(errors).filter((field) => fieldSteps[field] === step);
}

const isDefaultNics = (nics: readonly NicChoice[]) => nics.length === 1 && nics[0]!.network === "default" && parsePortForwards(nics[0]!.forwards).length === 0;

/** The POST /api/v1/vms body: only what the user chose differently from the server's defaults. */
export function buildRequest(state: WizardState): VmCreateRequest {
  const tags = parseTags(state.tags);
  const request: VmCreateRequest = { name: state.name };
  if (state.description) request.description = state.description;
  if (tags.length > 0) request.tags = tags;
  if (state.source === "template") {
    request.template = state.template;
    request.cloneMode = state.cloneMode;
  } else {
    if (state.source === "kernel") {
      request.kernel = state.kernel;
      if (state.initrd) request.initrd = state.initrd;
      if (state.append) request.append = state.append;
    }
    if (state.firmware !== "builtin") request.firmware = state.firmware;
    if (state.cpuEngine !== "jit") request.cpuEngine = state.cpuEngine;
    if (state.source === "iso") request.iso = state.iso;
    const disks: Schemas["DiskRequest"][] = [];
    if (state.source === "disk") disks.push({ volume: state.sourceVolume, readOnly: false });
    for (const disk of state.disks) {
      if (disk.kind === "new") disks.push({ sizeBytes: Number(disk.sizeGiB) * GiB, ...(state.pool !== "default" ? { pool: state.pool } : {}), readOnly: false });
      else disks.push({ volume: disk.volume, readOnly: disk.readOnly });
    }
    if (disks.length > 0) request.disks = disks;
  }
  request.cpus = Number(state.harts);
  request.memoryBytes = Number(state.memoryMiB) * MiB;
  if (state.display !== "none") request.display = state.display;
  if (!isDefaultNics(state.nics)) {
    request.nics = state.nics.map((nic) => {
      const forwards = parsePortForwards(nic.forwards);
      return { network: nic.network, ...(forwards.length > 0 ? { portForwards: forwards } : {}) };
    });
  }
  return request;
}

export function createCall(state: WizardState): ApiCall {
  return { method: "POST", path: "/api/v1/vms", body: buildRequest(state) };
}

/** The same VM as `vessel vm create` makes it (VmCommand.CreateVm's option spellings). */
export function cliWords(state: WizardState): string[] {
  const request = buildRequest(state);
  const words = ["vm", "create", state.name];
  if (request.template) words.push("--template", request.template, "--clone-mode", request.cloneMode ?? "linked");
  if (request.kernel) words.push("--kernel", request.kernel);
  if (request.initrd) words.push("--initrd", request.initrd);
  if (request.append) words.push("--append", request.append);
  words.push("--cpus", String(request.cpus), "--memory", `${Number(state.memoryMiB)}M`);
  if (request.firmware) words.push("--bios", request.firmware);
  if (request.cpuEngine) words.push("--cpu-engine", request.cpuEngine);
  if (request.display) words.push("--display", request.display);
  if (request.iso) words.push("--iso", request.iso);
  for (const disk of request.disks ?? []) {
    if (disk.volume) words.push("--drive", `volume=${disk.volume}${disk.readOnly ? ",readonly=on" : ""}`);
    else words.push("--drive", `size=${Number(disk.sizeBytes) / GiB}G${disk.pool ? `,pool=${disk.pool}` : ""}`);
  }
  if (request.nics) {
    if (request.nics.length === 0) words.push("--net", "none");
    for (const nic of request.nics) {
      const forwards = (nic.portForwards ?? []).map((f) => `,hostfwd=${f}`).join("");
      words.push("--net", `${nic.network === "default" ? "user" : `network=${nic.network}`}${forwards}`);
    }
  }
  if (request.description) words.push("--description", request.description);
  for (const tag of request.tags ?? []) words.push("--tag", tag);
  if (state.start) words.push("--start");
  return words;
}
