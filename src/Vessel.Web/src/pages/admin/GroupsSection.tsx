import { useState, type FormEvent } from "react";
import { api, call } from "../../api/client";
import { usePrivileges } from "../../api/session";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { useAction, useAsync } from "../../components/useAsync";
import { accessPath, option, SectionBar, type GroupInfo } from "./adminCommon";

/** Groups and their members: add, change members, delete. */
export function GroupsSection() {
  const groups = useAsync(() => call(api.GET("/api/v1/access/groups")), []);
  const users = useAsync(() => call(api.GET("/api/v1/access/users")), []);
  const privileges = usePrivileges(accessPath);
  const mayModify = privileges?.has("User.Modify") ?? false;
  const [dialog, setDialog] = useState<{ group: GroupInfo | null } | null>(null);
  const rowAction = useAction();

  async function remove(group: GroupInfo) {
    if (!window.confirm(`Delete group ${group.name} and its permissions (its users stay)?`)) return;
    if (await rowAction.run(() => call(api.DELETE("/api/v1/access/groups/{group}", { params: { path: { group: group.name } } })))) groups.reload();
  }

  return (
    <>
      <SectionBar>
        <span className="muted">{groups.data ? `${groups.data.length} group(s)` : "Loading…"}</span>
        {mayModify && (
          <button type="button" className="primary" onClick={() => setDialog({ group: null })}>
            Add group
          </button>
        )}
      </SectionBar>
      <ErrorLine error={groups.error ?? rowAction.error} />
      <table aria-label="Groups">
        <thead>
          <tr>
            <th scope="col">Group</th>
            <th scope="col">Members</th>
            <th scope="col">Comment</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(groups.data ?? []).map((group) => (
            <tr key={group.name}>
              <td>{group.name}</td>
              <td>{group.members.join(", ") || "–"}</td>
              <td>{group.comment || "–"}</td>
              <td className="actions">
                {mayModify && (
                  <>
                    <button type="button" aria-label={`Members of ${group.name}`} onClick={() => setDialog({ group })}>
                      Members
                    </button>
                    <button type="button" className="danger" disabled={rowAction.busy} aria-label={`Delete ${group.name}`} onClick={() => void remove(group)}>
                      Delete
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
          {groups.data?.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                No groups yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {dialog && <GroupDialog group={dialog.group} users={(users.data ?? []).map((u) => u.name)} onClose={() => setDialog(null)} onDone={() => (setDialog(null), groups.reload())} />}
    </>
  );
}

/** Adds a group (group null) or changes one's members and comment. */
function GroupDialog({ group, users, onClose, onDone }: { group: GroupInfo | null; users: string[]; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState(group?.name ?? "");
  const [comment, setComment] = useState(group?.comment ?? "");
  const [members, setMembers] = useState<string[]>(group?.members ?? []);
  const action = useAction();
  const createBody = { name, comment: comment || null, members };
  const editBody = { comment, members };

  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await action.run(() =>
      group === null
        ? call(api.POST("/api/v1/access/groups", { body: createBody }))
        : call(api.PATCH("/api/v1/access/groups/{group}", { params: { path: { group: group.name } }, body: editBody })),
    );
    if (ok) onDone();
  }

  return (
    <Dialog title={group === null ? "Add group" : `Members of ${group.name}`} onClose={onClose}>
      <form onSubmit={submit}>
        {group === null && (
          <label>
            Group name
            <input required value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
          </label>
        )}
        <label>
          Comment
          <input value={comment} onChange={(e) => setComment(e.target.value)} />
        </label>
        <fieldset>
          <legend>Members</legend>
          {users.map((user) => (
            <label key={user}>
              <input type="checkbox" checked={members.includes(user)} onChange={(e) => setMembers(e.target.checked ? [...members, user] : members.filter((m) => m !== user))} />
              {user}
            </label>
          ))}
        </fieldset>
        <ErrorLine error={action.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy}>
            {group === null ? "Add" : "Save"}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
        {group === null ? (
          <ShowAsCommand
            call={{ method: "POST", path: "/api/v1/access/groups", body: createBody }}
            cli={["group", "add", name || "NAME", ...members.flatMap((m) => ["--member", m]), ...option("--comment", comment)]}
          />
        ) : (
          // The CLI sets members when it adds a group only: the API call changes them.
          <ShowAsCommand call={{ method: "PATCH", path: `/api/v1/access/groups/${encodeURIComponent(group.name)}`, body: editBody }} />
        )}
      </form>
    </Dialog>
  );
}
