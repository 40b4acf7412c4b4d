import { useMemo, useState, type FormEvent } from "react";
import { api, call } from "../../api/client";
import { usePrivileges } from "../../api/session";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { useAction, useAsync } from "../../components/useAsync";
import { accessPath, SectionBar, type RoleInfo } from "./adminCommon";

/** Roles: the built-in ones read-only with their privileges; define and delete one's own. */
export function RolesSection() {
  const roles = useAsync(() => call(api.GET("/api/v1/access/roles")), []);
  const privileges = usePrivileges(accessPath);
  const mayModify = privileges?.has("Permissions.Modify") ?? false;
  const [adding, setAdding] = useState(false);
  const rowAction = useAction();
  // Every privilege there is: the built-in roles together hold them all (Administrator does).
  const allPrivileges = useMemo(() => [...new Set((roles.data ?? []).filter((r) => r.builtIn).flatMap((r) => r.privileges))], [roles.data]);

  async function remove(role: RoleInfo) {
    if (!window.confirm(`Delete role ${role.name}?`)) return;
    if (await rowAction.run(() => call(api.DELETE("/api/v1/access/roles/{role}", { params: { path: { role: role.name } } })))) roles.reload();
  }

  return (
    <>
      <SectionBar>
        <span className="muted">{roles.data ? `${roles.data.length} role(s)` : "Loading…"}</span>
        {mayModify && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Define role
          </button>
        )}
      </SectionBar>
      <ErrorLine error={roles.error ?? rowAction.error} />
      <table aria-label="Roles">
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Kind</th>
            <th scope="col">Privileges</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(roles.data ?? []).map((role) => (
            <tr key={role.name}>
              <td>{role.name}</td>
              <td>{role.builtIn ? "built in" : "defined"}</td>
              <td className="privileges">{role.privileges.join(", ") || "(none)"}</td>
              <td>
                {mayModify && !role.builtIn && (
                  <button type="button" className="danger" disabled={rowAction.busy} aria-label={`Delete ${role.name}`} onClick={() => void remove(role)}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {adding && <RoleDialog allPrivileges={allPrivileges} onClose={() => setAdding(false)} onDone={() => (setAdding(false), roles.reload())} />}
    </>
  );
}

function RoleDialog({ allPrivileges, onClose, onDone }: { allPrivileges: string[]; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const action = useAction();
  const body = { name, privileges: allPrivileges.filter((p) => chosen.includes(p)) };

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await action.run(() => call(api.POST("/api/v1/access/roles", { body })))) onDone();
  }

  return (
    <Dialog title="Define role" onClose={onClose} wide>
      <form onSubmit={submit}>
        <label>
          Role name
          <input required value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </label>
        <fieldset className="privilege-grid">
          <legend>Privileges</legend>
          {allPrivileges.map((privilege) => (
            <label key={privilege}>
              <input type="checkbox" checked={chosen.includes(privilege)} onChange={(e) => setChosen(e.target.checked ? [...chosen, privilege] : chosen.filter((p) => p !== privilege))} />
              {privilege}
            </label>
          ))}
        </fieldset>
        <ErrorLine error={action.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy}>
            Define
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
        <ShowAsCommand call={{ method: "POST", path: "/api/v1/access/roles", body }} cli={["role", "add", name || "NAME", "--privs", body.privileges.join(",")]} />
      </form>
    </Dialog>
  );
}
