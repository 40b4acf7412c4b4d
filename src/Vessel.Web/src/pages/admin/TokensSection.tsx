import { useState, type FormEvent } from "react";
import { api, call, type Schemas } from "../../api/client";
import { useSession } from "../../api/session";
import { Dialog } from "../../components/Dialog";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { formatTime } from "../../components/format";
import { useAction, useAsync } from "../../components/useAsync";
import { endOfDayUtc, option, SectionBar, type TokenInfo } from "./adminCommon";

type TokenCreated = Schemas["TokenCreated"];

/** The caller's own API tokens: create (the secret shown once), delete. */
export function TokensSection() {
  const session = useSession();
  const tokens = useAsync(() => call(api.GET("/api/v1/access/tokens")), []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<TokenCreated | null>(null);
  const rowAction = useAction();

  async function remove(token: TokenInfo) {
    if (!window.confirm(`Delete token ${token.id}? It stops working at once.`)) return;
    if (await rowAction.run(() => call(api.DELETE("/api/v1/access/tokens/{token}", { params: { path: { token: token.name } } })))) tokens.reload();
  }

  return (
    <>
      <p className="muted">
        The API tokens of {session.username}: a script sends one as <code>Authorization: Bearer SECRET</code>.
      </p>
      <SectionBar>
        <span className="muted">{tokens.data ? `${tokens.data.length} token(s)` : "Loading…"}</span>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create token
        </button>
      </SectionBar>
      <ErrorLine error={tokens.error ?? rowAction.error} />
      <table aria-label="API tokens">
        <thead>
          <tr>
            <th scope="col">Token</th>
            <th scope="col">Privileges</th>
            <th scope="col">Expires</th>
            <th scope="col">Comment</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(tokens.data ?? []).map((token) => (
            <tr key={token.id}>
              <td>{token.id}</td>
              <td>{token.privilegeSeparated ? "only its own permissions" : `those of ${token.user}`}</td>
              <td>{token.expiresAt ? formatTime(token.expiresAt) : "never"}</td>
              <td>{token.comment || "–"}</td>
              <td>{formatTime(token.createdAt)}</td>
              <td>
                <button type="button" className="danger" disabled={rowAction.busy} aria-label={`Delete ${token.id}`} onClick={() => void remove(token)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {tokens.data?.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No tokens yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {creating && (
        <CreateTokenDialog
          onClose={() => setCreating(false)}
          onCreated={(token) => {
            setCreating(false);
            setCreated(token);
            tokens.reload();
          }}
        />
      )}
      {created && <SecretDialog created={created} onClose={() => setCreated(null)} />}
    </>
  );
}

function CreateTokenDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (token: TokenCreated) => void }) {
  const [name, setName] = useState("");
  const [expires, setExpires] = useState("");
  const [privilegeSeparated, setPrivilegeSeparated] = useState(false);
  const [comment, setComment] = useState("");
  const action = useAction();
  const body = { name, expiresAt: endOfDayUtc(expires), privilegeSeparated, comment: comment || null };

  async function submit(e: FormEvent) {
    e.preventDefault();
    let token: TokenCreated | undefined;
    if (await action.run(async () => (token = await call(api.POST("/api/v1/access/tokens", { body }))))) onCreated(token!);
  }

  return (
    <Dialog title="Create API token" onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          Token name
          <input required value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </label>
        <label>
          Expires on (empty: never)
          <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        <label>
          <input type="checkbox" checked={privilegeSeparated} onChange={(e) => setPrivilegeSeparated(e.target.checked)} />
          Privilege-separated (only the permissions given to the token itself)
        </label>
        <label>
          Comment
          <input value={comment} onChange={(e) => setComment(e.target.value)} />
        </label>
        <ErrorLine error={action.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy}>
            Create
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
        <ShowAsCommand
          call={{ method: "POST", path: "/api/v1/access/tokens", body }}
          cli={["token", "create", name || "NAME", ...option("--expires", expires), ...(privilegeSeparated ? ["--privsep"] : []), ...option("--comment", comment)]}
        />
      </form>
    </Dialog>
  );
}

/** The secret, this once: the server keeps only its hash. */
function SecretDialog({ created, onClose }: { created: TokenCreated; onClose: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied("Copied to the clipboard.");
    } catch (e) {
      setCopied(`The browser did not copy it (${e instanceof Error ? e.message : String(e)}); select the secret and copy it.`);
    }
  }
  return (
    <Dialog title="API token created" onClose={onClose}>
      <p>
        Token <strong>{created.token.id}</strong> is created. Its secret:
      </p>
      <div className="secret">
        <input readOnly aria-label="Token secret" value={created.secret} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      {copied && <p role="status">{copied}</p>}
      <p className="warning-text">This secret is not shown again: copy it now and keep it safe.</p>
      <div className="actions">
        <button type="button" className="primary" onClick={onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}
