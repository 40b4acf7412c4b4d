import { useState, type FormEvent } from "react";
import { api, call } from "../../api/client";
import { usePrivileges } from "../../api/session";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { useAction, useAsync } from "../../components/useAsync";
import { accessPath, SectionBar, type AclEntryInfo } from "./adminCommon";

type SubjectKind = "user" | "group" | "token";

function subjectOf(entry: AclEntryInfo): { kind: SubjectKind; name: string } {
  if (entry.user) return { kind: "user", name: entry.user };
  if (entry.group) return { kind: "group", name: entry.group };
  return { kind: "token", name: entry.token ?? "" };
}

/** Every permission (a role on a path for a user, group or token); add and remove them. */
export function PermissionsSection() {
  const acl = useAsync(() => call(api.GET("/api/v1/access/acl")), []);
  const privileges = usePrivileges(accessPath);
  // The server checks Permissions.Modify on each permission's own path; this hides the
  // buttons from those who have it nowhere near /access (an auditor).
  const mayModify = privileges?.has("Permissions.Modify") ?? false;
  const [adding, setAdding] = useState(false);
  const rowAction = useAction();

  async function remove(entry: AclEntryInfo) {
    const subject = subjectOf(entry);
    if (!window.confirm(`Remove role ${entry.role} on ${entry.path} from ${subject.kind} ${subject.name}?`)) return;
    const query = { path: entry.path, role: entry.role, [subject.kind]: subject.name };
    if (await rowAction.run(() => call(api.DELETE("/api/v1/access/acl", { params: { query } })))) acl.reload();
  }

  return (
    <>
      <SectionBar>
        <span className="muted">{acl.data ? `${acl.data.length} permission(s)` : "Loading…"}</span>
        {mayModify && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add permission
          </button>
        )}
      </SectionBar>
      <ErrorLine error={acl.error ?? rowAction.error} />
      <table aria-label="Permissions">
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col">Kind</th>
            <th scope="col">User, group or token</th>
            <th scope="col">Role</th>
            <th scope="col">Propagate</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(acl.data ?? []).map((entry) => {
            const subject = subjectOf(entry);
            return (
              <tr key={`${entry.path} ${subject.kind} ${subject.name} ${entry.role}`}>
                <td>{entry.path}</td>
                <td>{subject.kind}</td>
                <td>{subject.name}</td>
                <td>{entry.role}</td>
                <td>{entry.propagate ? "yes" : "no"}</td>
                <td>
                  {mayModify && (
                    <button type="button" className="danger" disabled={rowAction.busy} aria-label={`Remove ${entry.role} on ${entry.path} from ${subject.name}`} onClick={() => void remove(entry)}>
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
          {acl.data?.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No permissions yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {adding && <AddPermissionDialog onClose={() => setAdding(false)} onDone={() => (setAdding(false), acl.reload())} />}
    </>
  );
}

function AddPermissionDialog({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const roles = useAsync(() => call(api.GET("/api/v1/access/roles")), []);
  const users = useAsync(() => call(api.GET("/api/v1/access/users")), []);
  const groups = useAsync(() => call(api.GET("/api/v1/access/groups")), []);
  const [path, setPath] = useState("/");
  const [kind, setKind] = useState<SubjectKind>("user");
  const [subject, setSubject] = useState("");
  const [role, setRole] = useState("");
  const [propagate, setPropagate] = useState(true);
  const action = useAction();
  const chosenRole = role || roles.data?.[0]?.name || "";
  const body = { path, role: chosenRole, [kind]: subject, propagate };
  const suggestions = kind === "user" ? (users.data ?? []).map((u) => u.name) : kind === "group" ? (groups.data ?? []).map((g) => g.name) : [];

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await action.run(() => call(api.PUT("/api/v1/access/acl", { body })))) onDone();
  }

  return (
    <Dialog title="Add permission" onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          Path
          <input required value={path} onChange={(e) => setPath(e.target.value)} placeholder="/, /vms/web1, /storage/default, /access" />
        </label>
        <label>
          For a
          <select aria-label="For a" value={kind} onChange={(e) => (setKind(e.target.value as SubjectKind), setSubject(""))}>
            <option value="user">user</option>
            <option value="group">group</option>
            <option value="token">token</option>
          </select>
        </label>
        <label>
          {kind === "user" ? "User" : kind === "group" ? "Group" : "Token (user@realm!name)"}
          <input required list="acl-subjects" value={subject} onChange={(e) => setSubject(e.target.value)} autoComplete="off" />
          <datalist id="acl-subjects">
            {suggestions.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </label>
        <label>
          Role
          <select aria-label="Role" value={chosenRole} onChange={(e) => setRole(e.target.value)}>
            {(roles.data ?? []).map((r) => (
              <option key={r.name} value={r.name}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={propagate} onChange={(e) => setPropagate(e.target.checked)} />
          Propagate (also below the path)
        </label>
        <ErrorLine error={action.error ?? roles.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy}>
            Add
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
        <ShowAsCommand
          call={{ method: "PUT", path: "/api/v1/access/acl", body }}
          cli={["acl", "set", path, `--${kind}`, subject || kind.toUpperCase(), "--role", chosenRole, ...(propagate ? [] : ["--no-propagate"])]}
        />
      </form>
    </Dialog>
  );
}
