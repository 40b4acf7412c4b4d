import { useState, type FormEvent } from "react";
import { api, call, type OperationInfo } from "../../api/client";
import { curlCommand, shellQuote } from "../../api/commands";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { useAction } from "../../components/useAsync";
import { Field } from "../../wizard/Field";
import { followOperation } from "../../wizard/followOperation";
import { checkName, checkVolumeSize, GiB, notAWholeNumber, parseWholeNumber } from "../../wizard/validation";
import { formatOfFile, useUpload, volumeNameOfFile, type UploadFormat, type VolumeInfo } from "./upload";
import { UploadProgressBar } from "./UploadProgressBar";

interface DialogProps {
  onClose: () => void;
  onDone: () => void;
}

function sizeError(text: string): string | null {
  const size = parseWholeNumber(text);
  return size === null ? notAWholeNumber("A size (GiB)", text) : checkVolumeSize(size * GiB);
}

export function CreateVolumeDialog({ pool, onClose, onDone }: DialogProps & { pool: string }) {
  const [name, setName] = useState("");
  const [size, setSize] = useState("8");
  const [format, setFormat] = useState<"qcow2" | "raw">("qcow2");
  const [touched, setTouched] = useState(false);
  const action = useAction();
  const nameError = checkName("volume", name);
  const sizeWrong = sizeError(size);
  const body = { name, format, sizeBytes: Number(size) * GiB };
  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (nameError || sizeWrong) return;
    if (await action.run(() => call(api.POST("/api/v1/pools/{pool}/volumes", { params: { path: { pool } }, body })))) {
      onDone();
      onClose();
    }
  }
  return (
    <Dialog title="New volume" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field id="volume-name" label="Name" error={touched || name ? nameError : null}>
          {(p) => <input {...p} value={name} autoFocus onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field id="volume-size" label="Size (GiB)" error={sizeWrong}>
          {(p) => <input {...p} inputMode="numeric" value={size} onChange={(e) => setSize(e.target.value)} />}
        </Field>
        <Field id="volume-format" label="Format">
          {(p) => (
            <select {...p} value={format} onChange={(e) => setFormat(e.target.value as "qcow2" | "raw")}>
              <option value="qcow2">qcow2 (grows as it is written, snapshots)</option>
              <option value="raw">raw</option>
            </select>
          )}
        </Field>
        <ErrorLine error={action.error} />
        <ShowAsCommand call={{ method: "POST", path: `/api/v1/pools/${encodeURIComponent(pool)}/volumes`, body }} cli={["volume", "create", name, `${size}G`, "--format", format, "--pool", pool]} />
        <div className="actions dialog-buttons">
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="primary" disabled={action.busy}>
            Create volume
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A disk image or an ISO from this computer, streamed into the pool with progress and Cancel. */
export function UploadVolumeDialog({ pool, onClose, onDone }: DialogProps & { pool: string }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [format, setFormat] = useState<UploadFormat>("raw");
  const upload = useUpload();
  const nameError = file ? checkName("volume", name) : null;
  const path = `/api/v1/pools/${encodeURIComponent(pool)}/volumes/${encodeURIComponent(name)}/content?format=${format}`;
  const fileWord = file?.name ?? "FILE";
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file || nameError) return;
    if (await upload.start(pool, name, format, file)) {
      onDone();
      onClose();
    }
  }
  return (
    <Dialog title="Upload a disk image or ISO" onClose={() => (upload.cancel(), onClose())}>
      <form onSubmit={submit} noValidate>
        <label>
          File to upload
          <input
            type="file"
            disabled={upload.uploading}
            onChange={(e) => {
              const chosen = e.target.files?.[0] ?? null;
              setFile(chosen);
              if (chosen) {
                setName(volumeNameOfFile(chosen.name));
                setFormat(formatOfFile(chosen.name));
              }
            }}
          />
        </label>
        <Field id="upload-volume-name" label="Volume name" error={nameError}>
          {(p) => <input {...p} value={name} disabled={upload.uploading} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field id="upload-format" label="Format" hint="What the file is: the server checks a qcow2 or raw image before keeping it.">
          {(p) => (
            <select {...p} value={format} disabled={upload.uploading} onChange={(e) => setFormat(e.target.value as UploadFormat)}>
              <option value="raw">raw</option>
              <option value="qcow2">qcow2</option>
              <option value="iso">iso</option>
            </select>
          )}
        </Field>
        {upload.progress && <UploadProgressBar progress={upload.progress} onCancel={upload.cancel} />}
        <ErrorLine error={upload.error} />
        <ShowAsCommand
          call={{ method: "PUT", path }}
          curl={`${curlCommand({ method: "PUT", path })} -H 'Content-Type: application/octet-stream' --data-binary @${shellQuote(fileWord)}`}
          cli={["volume", "upload", name, fileWord, "--format", format, "--pool", pool]}
        />
        <div className="actions dialog-buttons">
          <button type="button" onClick={() => (upload.cancel(), onClose())}>
            Close
          </button>
          <button type="submit" className="primary" disabled={!file || !!nameError || upload.uploading}>
            Upload
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function ResizeVolumeDialog({ volume, onClose, onDone }: DialogProps & { volume: VolumeInfo }) {
  const [size, setSize] = useState(String(Math.ceil(volume.virtualBytes / GiB)));
  const action = useAction();
  const sizeWrong = sizeError(size);
  const body = { sizeBytes: Number(size) * GiB };
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (sizeWrong) return;
    if (await action.run(() => call(api.POST("/api/v1/pools/{pool}/volumes/{volume}/resize", { params: { path: { pool: volume.pool, volume: volume.name } }, body })))) {
      onDone();
      onClose();
    }
  }
  return (
    <Dialog title={`Resize ${volume.name}`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field id="resize-size" label="New size (GiB)" error={sizeWrong} hint="Volumes grow; they never shrink (that would lose data).">
          {(p) => <input {...p} inputMode="numeric" autoFocus value={size} onChange={(e) => setSize(e.target.value)} />}
        </Field>
        <ErrorLine error={action.error} />
        <ShowAsCommand
          call={{ method: "POST", path: `/api/v1/pools/${encodeURIComponent(volume.pool)}/volumes/${encodeURIComponent(volume.name)}/resize`, body }}
          cli={["volume", "resize", volume.name, `${size}G`, "--pool", volume.pool]}
        />
        <div className="actions dialog-buttons">
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="primary" disabled={action.busy}>
            Resize
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A copy (or conversion) into a new volume: an operation, followed here to its end, cancellable. */
export function CopyVolumeDialog({ volume, pools, onClose, onDone }: DialogProps & { volume: VolumeInfo; pools: readonly string[] }) {
  const [name, setName] = useState(`${volume.name}-copy`.slice(0, 63));
  const [pool, setPool] = useState(volume.pool);
  const [format, setFormat] = useState(volume.format === "iso" ? "iso" : volume.format);
  const [operation, setOperation] = useState<OperationInfo | null>(null);
  const action = useAction();
  const nameError = checkName("volume", name);
  const body = { name, pool, format: volume.format === "iso" ? null : format };
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (nameError) return;
    const ok = await action.run(async () => {
      const started = await call(api.POST("/api/v1/pools/{pool}/volumes/{volume}/copy", { params: { path: { pool: volume.pool, volume: volume.name } }, body }));
      setOperation(started);
      const done = await followOperation(started, setOperation);
      if (done.status !== "succeeded") throw new Error(done.error ?? `The copy ended ${done.status}.`);
    });
    if (ok) {
      onDone();
      onClose();
    }
  }
  const [cancelError, setCancelError] = useState<string | null>(null);
  async function cancel() {
    if (!operation) return;
    try {
      await call(api.DELETE("/api/v1/operations/{id}", { params: { path: { id: operation.id } } }));
    } catch (e) {
      setCancelError(e instanceof Error ? e.message : String(e));
    }
  }
  const cli = ["volume", "copy", volume.name, name, "--pool", volume.pool];
  if (pool !== volume.pool) cli.push("--to-pool", pool);
  if (volume.format !== "iso" && format !== volume.format) cli.push("--format", format);
  return (
    <Dialog title={`Copy ${volume.name}`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field id="copy-name" label="Name of the copy" error={nameError}>
          {(p) => <input {...p} autoFocus value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field id="copy-pool" label="Into pool">
          {(p) => (
            <select {...p} value={pool} onChange={(e) => setPool(e.target.value)}>
              {pools.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          )}
        </Field>
        {volume.format !== "iso" && (
          <Field id="copy-format" label="Format of the copy">
            {(p) => (
              <select {...p} value={format} onChange={(e) => setFormat(e.target.value)}>
                <option value="qcow2">qcow2</option>
                <option value="raw">raw</option>
              </select>
            )}
          </Field>
        )}
        {operation && action.busy && (
          <p role="status" aria-label="Copy progress">
            <progress max={100} value={Math.round((operation.progress ?? 0) * 100)} /> {Math.round((operation.progress ?? 0) * 100)}%{" "}
            {operation.mayCancel && (
              <button type="button" onClick={cancel}>
                Cancel copy
              </button>
            )}
          </p>
        )}
        <ErrorLine error={action.error ?? cancelError} />
        <ShowAsCommand call={{ method: "POST", path: `/api/v1/pools/${encodeURIComponent(volume.pool)}/volumes/${encodeURIComponent(volume.name)}/copy`, body }} cli={cli} />
        <div className="actions dialog-buttons">
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="primary" disabled={action.busy}>
            Copy
          </button>
        </div>
      </form>
    </Dialog>
  );
}
