import { useState } from "react";
import type { NetworkInfo, PoolInfo } from "../api/inventory";
import type { VmSummary } from "../api/client";
import { formatBytes } from "../components/format";
import { ErrorLine } from "../components/ErrorLine";
import { formatOfFile, useUpload, volumeNameOfFile, type UploadFormat, type VolumeInfo } from "../pages/storage/upload";
import { UploadProgressBar } from "../pages/storage/UploadProgressBar";
import { Field, type FieldControlProps } from "./Field";
import { newDisk, type FieldErrors, type WizardState } from "./request";
import { checkName } from "./validation";

/** What every step gets: the state, a way to change it, and the sentences of the fields the user has touched. */
export interface StepProps {
  state: WizardState;
  update: (change: Partial<WizardState>) => void;
  errors: FieldErrors;
}

export function GeneralStep({ state, update, errors, pools }: StepProps & { pools: readonly PoolInfo[] }) {
  return (
    <>
      <Field id="vm-name" label="Name" error={errors.name} hint="Letters, digits, '.', '-' and '_'.">
        {(p) => <input {...p} value={state.name} autoComplete="off" onChange={(e) => update({ name: e.target.value })} />}
      </Field>
      <Field id="vm-pool" label="Storage pool" hint="Where the VM's new disks go.">
        {(p) => (
          <select {...p} value={state.pool} onChange={(e) => update({ pool: e.target.value })}>
            {pools.length === 0 && <option value="default">default</option>}
            {pools.map((pool) => (
              <option key={pool.name} value={pool.name}>
                {pool.name} ({formatBytes(pool.availableBytes)} free)
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field id="vm-tags" label="Tags" error={errors.tags} hint="Separated by spaces or commas.">
        {(p) => <input {...p} value={state.tags} onChange={(e) => update({ tags: e.target.value })} />}
      </Field>
      <Field id="vm-description" label="Description" error={errors.description}>
        {(p) => <textarea {...p} rows={2} value={state.description} onChange={(e) => update({ description: e.target.value })} />}
      </Field>
    </>
  );
}

const sources = [
  { kind: "kernel", label: "Kernel and initrd", hint: "Boot files on the server's host, with a command line." },
  { kind: "disk", label: "Disk image", hint: "An existing volume, or an image uploaded now; the firmware boots it." },
  { kind: "iso", label: "ISO installer", hint: "An ISO volume in the optical drive, and a new empty disk to install on." },
  { kind: "template", label: "Template", hint: "A copy of a template: its disks, boot files and devices." },
] as const;

export function SourceStep({ state, update, errors, templates, volumes, onUploaded }: StepProps & { templates: readonly VmSummary[]; volumes: readonly VolumeInfo[]; onUploaded: (volume: VolumeInfo) => void }) {
  function choose(kind: WizardState["source"]) {
    // Each source brings the settings it needs: a disk or an ISO is booted by firmware, and an
    // installer wants a disk to install on.
    const change: Partial<WizardState> = { source: kind };
    if (kind === "kernel") change.firmware = "builtin";
    else if (kind === "disk" || kind === "iso") change.firmware = state.firmware === "builtin" ? "uboot" : state.firmware;
    if (kind === "iso" && state.disks.length === 0) change.disks = [newDisk()];
    update(change);
  }
  const images = volumes.filter((v) => v.format !== "iso");
  const isos = volumes.filter((v) => v.format === "iso");
  return (
    <>
      <fieldset className="wizard-choices">
        <legend>Install from</legend>
        {sources.map((s) => (
          <label key={s.kind}>
            <input type="radio" name="source" value={s.kind} checked={state.source === s.kind} onChange={() => choose(s.kind)} />
            <span>
              {s.label} <span className="muted">— {s.hint}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {state.source === "kernel" && (
        <>
          <Field id="vm-kernel" label="Kernel" error={errors.kernel} hint="An absolute path on the server's host.">
            {(p) => <input {...p} value={state.kernel} placeholder="/srv/vessel/Image" onChange={(e) => update({ kernel: e.target.value })} />}
          </Field>
          <Field id="vm-initrd" label="Initrd" error={errors.initrd} hint="Optional.">
            {(p) => <input {...p} value={state.initrd} placeholder="/srv/vessel/initrd.gz" onChange={(e) => update({ initrd: e.target.value })} />}
          </Field>
          <Field id="vm-append" label="Kernel command line" error={errors.append}>
            {(p) => <input {...p} value={state.append} onChange={(e) => update({ append: e.target.value })} />}
          </Field>
        </>
      )}
      {state.source === "disk" && (
        <>
          <Field id="vm-source-volume" label="Disk image" error={errors.sourceVolume}>
            {(p) => <VolumeSelect {...p} volumes={images} value={state.sourceVolume} onChange={(sourceVolume) => update({ sourceVolume })} />}
          </Field>
          <UploadNow pool={state.pool} defaultFormat="raw" onUploaded={(v) => (onUploaded(v), update({ sourceVolume: `${v.pool}/${v.name}` }))} />
        </>
      )}
      {state.source === "iso" && (
        <>
          <Field id="vm-iso" label="ISO image" error={errors.iso}>
            {(p) => <VolumeSelect {...p} volumes={isos} value={state.iso} onChange={(iso) => update({ iso })} />}
          </Field>
          <UploadNow pool={state.pool} defaultFormat="iso" onUploaded={(v) => (onUploaded(v), update({ iso: `${v.pool}/${v.name}` }))} />
        </>
      )}
      {state.source === "template" && (
        <>
          <Field id="vm-template" label="Template" error={errors.template}>
            {(p) => (
              <select {...p} value={state.template} onChange={(e) => update({ template: e.target.value })}>
                <option value="">Choose a template…</option>
                {templates.map((t) => (
                  <option key={t.id} value={t.name}>
                    {t.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <fieldset className="wizard-choices">
            <legend>Clone</legend>
            <label>
              <input type="radio" name="clone-mode" checked={state.cloneMode === "linked"} onChange={() => update({ cloneMode: "linked" })} />
              Linked (overlays on the template's disks: quick, small)
            </label>
            <label>
              <input type="radio" name="clone-mode" checked={state.cloneMode === "full"} onChange={() => update({ cloneMode: "full" })} />
              Full (copies of its disks)
            </label>
          </fieldset>
        </>
      )}
    </>
  );
}

function VolumeSelect({ volumes, value, onChange, ...props }: { volumes: readonly VolumeInfo[]; value: string; onChange: (reference: string) => void } & FieldControlProps) {
  return (
    <select {...props} value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">Choose a volume…</option>
      {volumes.map((v) => {
        const reference = `${v.pool}/${v.name}`;
        return (
          <option key={reference} value={reference}>
            {reference} ({v.format}, {formatBytes(v.virtualBytes)}){v.usedBy.length > 0 ? ` — used by ${v.usedBy.join(", ")}` : ""}
          </option>
        );
      })}
    </select>
  );
}

/** A file from this computer, uploaded into the pool as a new volume, with progress and Cancel. */
function UploadNow({ pool, defaultFormat, onUploaded }: { pool: string; defaultFormat: UploadFormat; onUploaded: (volume: VolumeInfo) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const upload = useUpload();
  const nameError = file ? checkName("volume", name) : null;
  async function start() {
    if (!file || nameError) return;
    const volume = await upload.start(pool, name, defaultFormat === "iso" ? "iso" : formatOfFile(file.name), file);
    if (volume) {
      setFile(null);
      onUploaded(volume);
    }
  }
  return (
    <fieldset className="wizard-upload">
      <legend>Or upload one from this computer into pool {pool}</legend>
      <label>
        File to upload
        <input
          type="file"
          disabled={upload.uploading}
          onChange={(e) => {
            const chosen = e.target.files?.[0] ?? null;
            setFile(chosen);
            if (chosen) setName(volumeNameOfFile(chosen.name));
          }}
        />
      </label>
      {file && (
        <Field id={`upload-name-${defaultFormat}`} label="New volume's name" error={nameError}>
          {(p) => <input {...p} value={name} disabled={upload.uploading} onChange={(e) => setName(e.target.value)} />}
        </Field>
      )}
      <div className="actions">
        <button type="button" disabled={!file || !!nameError || upload.uploading} onClick={start}>
          Upload
        </button>
        {upload.progress && <UploadProgressBar progress={upload.progress} onCancel={upload.cancel} />}
      </div>
      <ErrorLine error={upload.error} />
    </fieldset>
  );
}

export function SystemStep({ state, update, errors }: StepProps) {
  return (
    <>
      <Field id="vm-harts" label="Harts" error={errors.harts} hint="1 to 8 virtual CPUs.">
        {(p) => <input {...p} inputMode="numeric" value={state.harts} onChange={(e) => update({ harts: e.target.value })} />}
      </Field>
      <Field id="vm-memory" label="Memory (MiB)" error={errors.memory} hint="16 MiB to 64 GiB, in steps of 2 MiB.">
        {(p) => <input {...p} inputMode="numeric" value={state.memoryMiB} onChange={(e) => update({ memoryMiB: e.target.value })} />}
      </Field>
      <Field id="vm-firmware" label="Firmware" error={errors.firmware} hint={state.source === "template" ? "The template's." : "builtin boots the kernel; uboot boots a disk."}>
        {(p) => (
          <select {...p} disabled={state.source === "template"} value={state.firmware} onChange={(e) => update({ firmware: e.target.value as WizardState["firmware"] })}>
            <option value="builtin">builtin</option>
            <option value="uboot">uboot</option>
            <option value="none">none</option>
          </select>
        )}
      </Field>
      <Field id="vm-engine" label="CPU engine">
        {(p) => (
          <select {...p} disabled={state.source === "template"} value={state.cpuEngine} onChange={(e) => update({ cpuEngine: e.target.value as WizardState["cpuEngine"] })}>
            <option value="jit">jit</option>
            <option value="interpreter">interpreter</option>
          </select>
        )}
      </Field>
      <Field id="vm-display" label="Display" hint="vnc: a screen, seen in the graphic console.">
        {(p) => (
          <select {...p} value={state.display} onChange={(e) => update({ display: e.target.value as WizardState["display"] })}>
            <option value="none">none</option>
            <option value="vnc">vnc</option>
          </select>
        )}
      </Field>
    </>
  );
}

export function DisksStep({ state, update, errors, volumes }: StepProps & { volumes: readonly VolumeInfo[] }) {
  if (state.source === "template") return <p>The template's disks are cloned ({state.cloneMode === "linked" ? "as overlays on them" : "copied"}).</p>;
  const offset = state.source === "disk" ? 1 : 0;
  const change = (i: number, disk: Partial<WizardState["disks"][number]>) => update({ disks: state.disks.map((d, j) => (j === i ? { ...d, ...disk } : d)) });
  const writable = volumes.filter((v) => v.format !== "iso");
  return (
    <>
      {state.source === "disk" && (
        <p>
          Disk 0: the disk image <strong>{state.sourceVolume || "(not chosen yet)"}</strong>
        </p>
      )}
      {state.disks.length === 0 && state.source !== "disk" && <p className="muted">No disks: the VM boots its kernel and initrd alone.</p>}
      {state.disks.map((disk, i) => (
        <fieldset key={i} className="wizard-row">
          <legend>Disk {i + offset}</legend>
          <label>
            Kind of disk {i + offset}
            <select value={disk.kind} onChange={(e) => change(i, { kind: e.target.value as "new" | "volume" })}>
              <option value="new">New empty disk</option>
              <option value="volume">Existing volume</option>
            </select>
          </label>
          {disk.kind === "new" ? (
            <Field id={`disk${i}-size`} label={`Size of disk ${i + offset} (GiB)`} error={errors[`disk${i}.size`]}>
              {(p) => <input {...p} inputMode="numeric" value={disk.sizeGiB} onChange={(e) => change(i, { sizeGiB: e.target.value })} />}
            </Field>
          ) : (
            <>
              <Field id={`disk${i}-volume`} label={`Volume of disk ${i + offset}`} error={errors[`disk${i}.volume`]}>
                {(p) => <VolumeSelect {...p} volumes={writable} value={disk.volume} onChange={(volume) => change(i, { volume })} />}
              </Field>
              <label>
                <input type="checkbox" checked={disk.readOnly} onChange={(e) => change(i, { readOnly: e.target.checked })} />
                Read-only
              </label>
            </>
          )}
          <button type="button" onClick={() => update({ disks: state.disks.filter((_, j) => j !== i) })}>
            Remove disk {i + offset}
          </button>
        </fieldset>
      ))}
      <ErrorLine error={errors.disks} />
      <div className="actions">
        <button type="button" onClick={() => update({ disks: [...state.disks, newDisk()] })}>
          Add disk
        </button>
      </div>
    </>
  );
}

export function NetworkStep({ state, update, errors, networks }: StepProps & { networks: readonly NetworkInfo[] }) {
  const change = (i: number, nic: Partial<WizardState["nics"][number]>) => update({ nics: state.nics.map((n, j) => (j === i ? { ...n, ...nic } : n)) });
  return (
    <>
      {state.nics.length === 0 && <p className="muted">No network cards: the VM is on no network.</p>}
      {state.nics.map((nic, i) => (
        <fieldset key={i} className="wizard-row">
          <legend>Network card {i}</legend>
          <label>
            Network of card {i}
            <select value={nic.network} onChange={(e) => change(i, { network: e.target.value })}>
              {networks.length === 0 && <option value="default">default</option>}
              {networks.map((n) => (
                <option key={n.name} value={n.name}>
                  {n.name} ({n.kind})
                </option>
              ))}
            </select>
          </label>
          <Field id={`nic${i}-forwards`} label={`Port forwards of card ${i}`} error={errors[`nic${i}.forwards`]} hint="e.g. tcp::2222-:22 (host port 2222 to the guest's 22); nat networks only.">
            {(p) => <input {...p} value={nic.forwards} onChange={(e) => change(i, { forwards: e.target.value })} />}
          </Field>
          <button type="button" onClick={() => update({ nics: state.nics.filter((_, j) => j !== i) })}>
            Remove card {i}
          </button>
        </fieldset>
      ))}
      <ErrorLine error={errors.nics} />
      <div className="actions">
        <button type="button" onClick={() => update({ nics: [...state.nics, { network: "default", forwards: "" }] })}>
          Add network card
        </button>
      </div>
    </>
  );
}
