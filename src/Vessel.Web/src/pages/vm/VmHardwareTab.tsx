import { useEffect, useRef, useState } from "react";
import { api, call, type VmDetails } from "../../api/client";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { formatBytes } from "../../components/format";
import { combinedEdit, hardwareFields, type HardwareField, type VmEditRequest } from "./hardwareFields";
import type { VmTabProps } from "./VmPage";

/**
 * The VM's hardware and options, each setting edited in place and sent as its own PATCH with
 * If-Match (so that the server's refusal stands next to the setting it refuses). Settings a
 * running VM takes only at its next start are marked pending until then. Disks and NICs are
 * shown as they are: the API changes them only at creation.
 */
export function VmHardwareTab({ vm, may, reload }: VmTabProps) {
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [busy, setBusy] = useState(false);
  // The newest definition known: an answer to a PATCH may be newer than the props.
  const latest = useRef<VmDetails>(vm);
  if (vm.version > latest.current.version || vm.id !== latest.current.id) latest.current = vm;
  useEffect(() => {
    setDrafts({});
    setErrors({});
  }, [vm.id]);

  const fields = hardwareFields.filter((f) => !vm.isTemplate || f.onTemplates);
  const draftOf = (f: HardwareField) => drafts[f.key] ?? f.initial(vm);
  const changed = fields.filter((f) => drafts[f.key] !== undefined && drafts[f.key] !== f.initial(vm));
  const pending = new Set(vm.pendingChanges ?? []);
  const running = vm.state !== "stopped" && vm.state !== "crashed";

  async function patch(field: HardwareField, draft: string): Promise<boolean> {
    const request = field.request(draft, latest.current);
    if (typeof request === "string") {
      setErrors((e) => ({ ...e, [field.key]: request }));
      return false;
    }
    try {
      const answer = await edit(latest.current, request);
      latest.current = answer;
      setErrors((e) => ({ ...e, [field.key]: null }));
      setDrafts((d) => {
        const { [field.key]: _, ...rest } = d;
        return rest;
      });
      return true;
    } catch (e) {
      setErrors((all) => ({ ...all, [field.key]: e instanceof Error ? e.message : String(e) }));
      return false;
    }
  }

  async function apply(list: readonly { field: HardwareField; draft: string }[]) {
    setBusy(true);
    // One at a time: each takes the version the previous one made (If-Match).
    for (const { field, draft } of list) await patch(field, draft);
    setBusy(false);
    reload();
  }

  const changes = changed.map((field) => ({ field, draft: draftOf(field) }));
  const combined = combinedEdit(vm, changes);

  return (
    <div className="hardware">
      {pending.size > 0 && (
        <p className="pending-note" role="status">
          Changes waiting for the next start: {[...pending].join(", ")}.
        </p>
      )}
      <table aria-label="Hardware and options" className="hardware-table">
        <thead>
          <tr>
            <th scope="col">Setting</th>
            <th scope="col">Value</th>
            <th scope="col">When</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {fields.map((field) => (
            <FieldRow
              key={field.key}
              field={field}
              draft={draftOf(field)}
              editable={may(field.privilege) && !busy}
              dirty={changed.includes(field)}
              pending={field.pendingKeys.some((k) => pending.has(k))}
              running={running}
              error={errors[field.key] ?? null}
              onDraft={(value) => setDrafts((d) => ({ ...d, [field.key]: value }))}
              onApply={(value) => void apply([{ field, draft: value }])}
            />
          ))}
        </tbody>
      </table>
      <div className="actions">
        <button type="button" className="primary" disabled={busy || changes.length === 0} onClick={() => void apply(changes)}>
          Apply all changes
        </button>
        <button type="button" disabled={busy || changes.length === 0} onClick={() => (setDrafts({}), setErrors({}))}>
          Discard changes
        </button>
        <span className="muted">{changes.length === 0 ? "No unsaved changes." : `${changes.length} unsaved change(s).`}</span>
      </div>
      {changes.length > 0 && <ShowAsCommand call={{ method: "PATCH", path: `/api/v1/vms/${encodeURIComponent(vm.name)}`, body: combined.body }} cli={combined.cli ?? undefined} />}

      <h2>Disks</h2>
      <table aria-label="Disks">
        <thead>
          <tr>
            <th scope="col">Drive</th>
            <th scope="col">Volume</th>
            <th scope="col">Format</th>
            <th scope="col">Size</th>
            <th scope="col">Access</th>
            <th scope="col">When</th>
          </tr>
        </thead>
        <tbody>
          {(vm.disks ?? []).map((disk) => (
            <tr key={disk.id}>
              <td>{disk.id}</td>
              <td>{disk.volume}</td>
              <td>{disk.format}</td>
              <td>{formatBytes(disk.virtualBytes)}</td>
              <td>{disk.readOnly ? "read-only" : "read-write"}</td>
              <td>{pending.has(disk.id) ? <span className="badge pending">at the next start</span> : ""}</td>
            </tr>
          ))}
          {(vm.disks ?? []).length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No disks.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <h2>Network interfaces</h2>
      <table aria-label="Network interfaces">
        <thead>
          <tr>
            <th scope="col">NIC</th>
            <th scope="col">Network</th>
            <th scope="col">MAC</th>
            <th scope="col">Port forwards</th>
          </tr>
        </thead>
        <tbody>
          {(vm.nics ?? []).map((nic, i) => (
            <tr key={nic.mac}>
              <td>nic{i}</td>
              <td>{nic.network}</td>
              <td>{nic.mac}</td>
              <td>{nic.portForwards.join(", ") || "–"}</td>
            </tr>
          ))}
          {(vm.nics ?? []).length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                No network interfaces.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <dl className="facts">
        <dt>Firmware</dt>
        <dd>{vm.firmware}</dd>
        <dt>Console</dt>
        <dd>{vm.console}</dd>
        {vm.kernel && (
          <>
            <dt>Kernel</dt>
            <dd>{vm.kernel}</dd>
          </>
        )}
        {vm.initrd && (
          <>
            <dt>Initrd</dt>
            <dd>{vm.initrd}</dd>
          </>
        )}
      </dl>
    </div>
  );
}

function edit(vm: VmDetails, body: VmEditRequest): Promise<VmDetails> {
  return call(api.PATCH("/api/v1/vms/{vm}", { params: { path: { vm: vm.name } }, body, headers: { "If-Match": `"${vm.version}"` } }));
}

interface FieldRowProps {
  field: HardwareField;
  draft: string;
  editable: boolean;
  dirty: boolean;
  pending: boolean;
  running: boolean;
  error: string | null;
  onDraft: (value: string) => void;
  onApply: (value: string) => void;
}

function FieldRow({ field, draft, editable, dirty, pending, running, error, onDraft, onApply }: FieldRowProps) {
  const id = `hardware-${field.key}`;
  const errorId = `${id}-error`;
  const common = { id, disabled: !editable, "aria-invalid": error ? true : undefined, "aria-describedby": error ? errorId : undefined };
  let input;
  switch (field.input) {
    case "checkbox":
      input = <input type="checkbox" {...common} checked={draft === "true"} onChange={(e) => onDraft(String(e.target.checked))} />;
      break;
    case "select":
      input = (
        <select {...common} value={draft} onChange={(e) => onDraft(e.target.value)}>
          {(field.options ?? []).map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      );
      break;
    default:
      input = (
        <input
          type={field.input === "number" ? "number" : "text"}
          {...common}
          value={draft}
          placeholder={field.key === "iso" ? "POOL/NAME (empty: no disc)" : undefined}
          onChange={(e) => onDraft(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && dirty && onApply(draft)}
        />
      );
  }
  return (
    <tr className={dirty ? "dirty" : undefined}>
      <th scope="row">
        <label htmlFor={id}>
          {field.label}
          {field.unit ? ` (${field.unit})` : ""}
        </label>
      </th>
      <td>
        {input}
        <ErrorLine error={error} id={errorId} />
      </td>
      <td>
        {pending ? (
          <span className="badge pending">pending: at the next start</span>
        ) : field.live || !running ? (
          <span className="muted">{field.live ? "live" : "at start"}</span>
        ) : (
          <span className="muted">at the next start</span>
        )}
      </td>
      <td>
        <div className="actions">
          {editable && dirty && (
            <button type="button" aria-label={`Apply ${field.label}`} onClick={() => onApply(draft)}>
              Apply
            </button>
          )}
          {editable && field.key === "iso" && draft !== "" && !dirty && (
            <button type="button" aria-label="Eject the ISO" onClick={() => onApply("")}>
              Eject
            </button>
          )}
        </div>
      </td>
    </tr>
  );
}
