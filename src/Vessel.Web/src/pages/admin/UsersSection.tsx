import { useState, type FormEvent } from "react";
import { api, call } from "../../api/client";
import { usePrivileges, useSession } from "../../api/session";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { StateBadge } from "../../components/StateBadge";
import { formatTime } from "../../components/format";
import { useAction, useAsync } from "../../components/useAsync";
import { accessPath, dateOf, endOfDayUtc, option, SectionBar, type UserInfo } from "./adminCommon";

/** Users: list, add with a password, enable/disable, expiry, change password, delete. */
export function UsersSection() {
  const users = useAsync(() => call(api.GET("/api/v1/access/users")), []);
  const groups = useAsync(() => call(api.GET("/api/v1/access/groups")), []);
  const privileges = usePrivileges(accessPath);
  const mayModify = privileges?.has("User.Modify") ?? false;
  const [dialog, setDialog] = useState<{ kind: "add" } | { kind: "password" | "expiry"; user: UserInfo } | null>(null);
  const rowAction = useAction();
  const session = useSession();

  async function setEnabled(user: UserInfo, enabled: boolean) {
    if (await rowAction.run(() => call(api.PATCH("/api/v1/access/users/{user}", { params: { path: { user: user.name } }, body: { enabled } })))) users.reload();
  }

  async function remove(user: UserInfo) {
    if (!window.confirm(`Delete user ${user.name} with its tokens, sessions and permissions?`)) return;
    if (await rowAction.run(() => call(api.DELETE("/api/v1/access/users/{user}", { params: { path: { user: user.name } } })))) users.reload();
  }

  return (
    <>
      <SectionBar>
        <span className="muted">{users.data ? `${users.data.length} user(s)` : "Loading…"}</span>
        {mayModify && (
          <button type="button" className="primary" onClick={() => setDialog({ kind: "add" })}>
            Add user
          </button>
        )}
      </SectionBar>
      <ErrorLine error={users.error ?? rowAction.error} />
      <div className="table-scroll">
        <table aria-label="Users">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">State</th>
              <th scope="col">Expires</th>
              <th scope="col">Groups</th>
              <th scope="col">Comment</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(users.data ?? []).map((user) => (
              <tr key={user.name}>
                <td>{user.name}</td>
                <td>
                  <StateBadge state={user.enabled ? "enabled" : "disabled"} />
                </td>
                <td>{user.expiresAt ? formatTime(user.expiresAt) : "never"}</td>
                <td>{user.groups.join(", ") || "–"}</td>
                <td>{user.comment || "–"}</td>
                <td>{formatTime(user.createdAt)}</td>
                <td className="actions">
                  {mayModify && (
                    <>
                      <button type="button" disabled={rowAction.busy} aria-label={`${user.enabled ? "Disable" : "Enable"} ${user.name}`} onClick={() => void setEnabled(user, !user.enabled)}>
                        {user.enabled ? "Disable" : "Enable"}
                      </button>
                      <button type="button" aria-label={`Set the expiry of ${user.name}`} onClick={() => setDialog({ kind: "expiry", user })}>
                        Expiry
                      </button>
                    </>
                  )}
                  {user.realm === "vessel" && (mayModify || user.name === session.username) && (
                    <button type="button" aria-label={`Change the password of ${user.name}`} onClick={() => setDialog({ kind: "password", user })}>
                      Password
                    </button>
                  )}
                  {mayModify && user.name !== session.username && (
                    <button type="button" className="danger" disabled={rowAction.busy} aria-label={`Delete ${user.name}`} onClick={() => void remove(user)}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {dialog?.kind === "add" && <AddUserDialog groups={(groups.data ?? []).map((g) => g.name)} onClose={() => setDialog(null)} onDone={() => (setDialog(null), users.reload())} />}
      {dialog?.kind === "password" && (
        <PasswordDialog user={dialog.user} own={dialog.user.name === session.username && !mayModify} onClose={() => setDialog(null)} />
      )}
      {dialog?.kind === "expiry" && <ExpiryDialog user={dialog.user} onClose={() => setDialog(null)} onDone={() => (setDialog(null), users.reload())} />}
    </>
  );
}

function AddUserDialog({ groups, onClose, onDone }: { groups: string[]; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [comment, setComment] = useState("");
  const [expires, setExpires] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const action = useAction();
  const pam = name.endsWith("@pam");
  const body = {
    name,
    password: pam ? null : password,
    comment: comment || null,
    expiresAt: endOfDayUtc(expires),
    groups: chosen.length > 0 ? chosen : null,
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await action.run(() => call(api.POST("/api/v1/access/users", { body })))) onDone();
  }

  return (
    <Dialog title="Add user" onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          User name
          <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="alice@vessel" autoComplete="off" />
        </label>
        {!pam && (
          <label>
            Password
            <input type="password" required value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
          </label>
        )}
        <label>
          Comment
          <input value={comment} onChange={(e) => setComment(e.target.value)} />
        </label>
        <label>
          Expires on (empty: never)
          <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        {groups.length > 0 && (
          <fieldset>
            <legend>Groups</legend>
            {groups.map((group) => (
              <label key={group}>
                <input type="checkbox" checked={chosen.includes(group)} onChange={(e) => setChosen(e.target.checked ? [...chosen, group] : chosen.filter((g) => g !== group))} />
                {group}
              </label>
            ))}
          </fieldset>
        )}
        <ErrorLine error={action.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy}>
            {action.busy ? "Adding…" : "Add"}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
        <ShowAsCommand
          // The password never goes into the text: the command reads it from a file.
          call={{ method: "POST", path: "/api/v1/access/users", body: { ...body, password: pam ? null : "PASSWORD" } }}
          cli={["user", "add", name || "NAME", ...option("--comment", comment), ...option("--expires", expires), ...chosen.flatMap((g) => ["--group", g]), ...(pam ? [] : ["--password-file", "FILE"])]}
        />
      </form>
    </Dialog>
  );
}

function PasswordDialog({ user, own, onClose }: { user: UserInfo; own: boolean; onClose: () => void }) {
  const [newPassword, setNewPassword] = useState("");
  const [oldPassword, setOldPassword] = useState("");
  const [done, setDone] = useState(false);
  const action = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = { newPassword, oldPassword: own ? oldPassword : null };
    if (await action.run(() => call(api.PUT("/api/v1/access/users/{user}/password", { params: { path: { user: user.name } }, body })))) setDone(true);
  }

  return (
    <Dialog title={`Change the password of ${user.name}`} onClose={onClose}>
      <form onSubmit={submit}>
        {own && (
          <label>
            Current password
            <input type="password" required value={oldPassword} onChange={(e) => setOldPassword(e.target.value)} autoComplete="current-password" />
          </label>
        )}
        <label>
          New password
          <input type="password" required value={newPassword} onChange={(e) => setNewPassword(e.target.value)} autoComplete="new-password" />
        </label>
        <ErrorLine error={action.error} />
        {done && <p role="status">The password of {user.name} is changed.</p>}
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy || done}>
            Change password
          </button>
          <button type="button" onClick={onClose}>
            {done ? "Close" : "Cancel"}
          </button>
        </div>
        <ShowAsCommand
          call={{ method: "PUT", path: `/api/v1/access/users/${encodeURIComponent(user.name)}/password`, body: { newPassword: "PASSWORD", oldPassword: own ? "OLD-PASSWORD" : null } }}
          cli={["user", "passwd", user.name, "--password-file", "FILE", ...(own ? ["--old-password-file", "OLD-FILE"] : [])]}
        />
      </form>
    </Dialog>
  );
}

function ExpiryDialog({ user, onClose, onDone }: { user: UserInfo; onClose: () => void; onDone: () => void }) {
  const [expires, setExpires] = useState(dateOf(user.expiresAt));
  const action = useAction();
  const body = expires ? { expiresAt: endOfDayUtc(expires) } : { neverExpires: true };

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await action.run(() => call(api.PATCH("/api/v1/access/users/{user}", { params: { path: { user: user.name } }, body })))) onDone();
  }

  return (
    <Dialog title={`Expiry of ${user.name}`} onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          Expires on (empty: never)
          <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        <ErrorLine error={action.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy}>
            Save
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
        {/* The CLI sets an expiry when it adds a user only: the API call does it here. */}
        <ShowAsCommand call={{ method: "PATCH", path: `/api/v1/access/users/${encodeURIComponent(user.name)}`, body }} />
      </form>
    </Dialog>
  );
}
