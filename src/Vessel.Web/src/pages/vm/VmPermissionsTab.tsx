import { useState } from "react";
import { api, call, type Schemas } from "../../api/client";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { useAction, useAsync } from "../../components/useAsync";
import type { VmTabProps } from "./VmPage";

type AclEntry = Schemas["AclEntryInfo"];
type SubjectKind = "user" | "group" | "token";

/** The built-in roles (Access/Privileges.cs), offered when the caller may not list roles. */
const builtInRoles = ["Administrator", "VMAdmin", "VMPowerUser", "VMUser", "Auditor", "NoAccess"];

const subjectOf = (e: AclEntry): [SubjectKind, string] => (e.user ? ["user", e.user] : e.group ? ["group", e.group] : ["token", e.token ?? ""]);

/** Whether an entry on another path reaches this VM: / and /vms with propagation. */
function inherited(entry: AclEntry, path: string): boolean {
  return entry.path !== path && entry.propagate && (entry.path === "/" || entry.path === "/vms");
}

/**
 * Who may do what on this VM: the permissions on /vms/NAME (the server lists VM paths by
 * name), those it inherits from / and /vms, and, with Permissions.Modify, add and remove.
 */
export function VmPermissionsTab({ vm, may }: VmTabProps) {
  const path = `/vms/${vm.name}`;
  const acl = useAsync(() => call(api.GET("/api/v1/access/acl")), [vm.name]);
  const [adding, setAdding] = useState(false);
  const remove = useAction();
  const [removing, setRemoving] = useState<AclEntry | null>(null);
  const mayModify = may("Permissions.Modify");
  const own = (acl.data ?? []).filter((e) => e.path === path);
  const fromAbove = (acl.data ?? []).filter((e) => inherited(e, path));

  async function removeEntry(entry: AclEntry) {
    const [kind, subject] = subjectOf(entry);
    const ok = await remove.run(() => call(api.DELETE("/api/v1/access/acl", { params: { query: { path, role: entry.role, [kind]: subject } } })));
    if (ok) {
      setRemoving(null);
      acl.reload();
    }
  }

  return (
    <div className="permissions">
      <div className="toolbar">
        {mayModify && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add permission
          </button>
        )}
      </div>
      <ErrorLine error={acl.error} />
      <table aria-label={`Permissions on ${vm.name}`}>
        <thead>
          <tr>
            <th scope="col">Who</th>
            <th scope="col">Role</th>
            <th scope="col">Path</th>
            <th scope="col">Propagates</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {[...own, ...fromAbove].map((entry) => {
            const [kind, subject] = subjectOf(entry);
            const isOwn = entry.path === path;
            return (
              <tr key={`${entry.path} ${kind} ${subject} ${entry.role}`}>
                <td>
                  {subject} <span className="muted">({kind})</span>
                </td>
                <td>{entry.role}</td>
                <td>{isOwn ? entry.path : `${entry.path} (inherited)`}</td>
                <td>{entry.propagate ? "yes" : "no"}</td>
                <td>
                  {isOwn && mayModify && (
                    <button type="button" className="danger" aria-label={`Remove ${entry.role} of ${subject}`} onClick={() => (remove.clear(), setRemoving(entry))}>
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
          {acl.data && own.length + fromAbove.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No permissions name this VM; only administrators reach it.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {removing && (
        <Dialog title="Remove a permission" onClose={() => setRemoving(null)}>
          <p>
            {subjectOf(removing)[1]} loses the role {removing.role} on {vm.name}.
          </p>
          <ErrorLine error={remove.error} />
          <div className="actions">
            <button type="button" className="danger" disabled={remove.busy} onClick={() => void removeEntry(removing)}>
              Remove
            </button>
            <button type="button" onClick={() => setRemoving(null)}>
              Cancel
            </button>
          </div>
          <ShowAsCommand
            call={{ method: "DELETE", path: `/api/v1/access/acl?${new URLSearchParams({ path, role: removing.role, [subjectOf(removing)[0]]: subjectOf(removing)[1] }).toString()}` }}
            cli={["acl", "delete", path, `--${subjectOf(removing)[0]}`, subjectOf(removing)[1], "--role", removing.role]}
          />
        </Dialog>
      )}
      {adding && <AddPermissionDialog path={path} onClose={() => setAdding(false)} onDone={acl.reload} />}
    </div>
  );
}

function AddPermissionDialog({ path, onClose, onDone }: { path: string; onClose: () => void; onDone: () => void }) {
  const roles = useAsync(() => call(api.GET("/api/v1/access/roles")), []);
  const users = useAsync(() => call(api.GET("/api/v1/access/users")), []);
  const groups = useAsync(() => call(api.GET("/api/v1/access/groups")), []);
  const [kind, setKind] = useState<SubjectKind>("user");
  const [subject, setSubject] = useState("");
  const [role, setRole] = useState("VMUser");
  const [propagate, setPropagate] = useState(true);
  const action = useAction();
  const body = { path, role, [kind]: subject, propagate };
  const roleNames = roles.data ? roles.data.map((r) => r.name) : builtInRoles;
  const suggestions = kind === "user" ? (users.data ?? []).map((u) => u.name) : kind === "group" ? (groups.data ?? []).map((g) => g.name) : [];

  async function add(e: React.FormEvent) {
    e.preventDefault();
    const ok = await action.run(() => call(api.PUT("/api/v1/access/acl", { body })));
    if (ok) {
      onDone();
      onClose();
    }
  }

  return (
    <Dialog title="Add a permission" onClose={onClose}>
      <form onSubmit={add}>
        <fieldset className="choices">
          <legend>For a</legend>
          {(["user", "group", "token"] as const).map((k) => (
            <label key={k}>
              <input type="radio" name="acl-kind" checked={kind === k} onChange={() => setKind(k)} />
              {k}
            </label>
          ))}
        </fieldset>
        <label>
          {kind === "user" ? "User (name@realm)" : kind === "group" ? "Group" : "Token (user@realm!name)"}
          <input value={subject} required list="acl-subjects" onChange={(e) => setSubject(e.target.value)} />
          <datalist id="acl-subjects">
            {suggestions.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            {roleNames.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={propagate} onChange={(e) => setPropagate(e.target.checked)} />
          Propagate (also below this path)
        </label>
        <ErrorLine error={action.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy || subject.length === 0}>
            Add
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
        <ShowAsCommand call={{ method: "PUT", path: "/api/v1/access/acl", body }} cli={["acl", "set", path, `--${kind}`, subject, "--role", role, ...(propagate ? [] : ["--no-propagate"])]} />
      </form>
    </Dialog>
  );
}
