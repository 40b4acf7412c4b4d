import { useState, type FormEvent } from "react";
import { api, call, type Schemas } from "../../api/client";
import { usePrivileges } from "../../api/session";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { formatTime } from "../../components/format";
import { useAction, useAsync } from "../../components/useAsync";
import { messageOf, option, SectionBar } from "./adminCommon";

type AuditVerification = Schemas["AuditVerification"];

interface Filters {
  user: string;
  action: string;
  object: string;
  result: string;
  from: string;
  to: string;
}

const noFilters: Filters = { user: "", action: "", object: "", result: "", from: "", to: "" };
const pageSize = 50;

/** A date field's day as the API's time (UTC midnight); `to` is exclusive, so the day after. */
function dayStart(date: string, plusDays = 0): string | undefined {
  if (!date) return undefined;
  const time = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(time.getTime())) return undefined;
  time.setUTCDate(time.getUTCDate() + plusDays);
  return time.toISOString();
}

function queryOf(filters: Filters) {
  return {
    user: filters.user || undefined,
    action: filters.action || undefined,
    object: filters.object || undefined,
    result: filters.result || undefined,
    from: dayStart(filters.from),
    to: dayStart(filters.to, 1),
  };
}

/** The audit log, newest first: filters, pages, export, the chain's verification, retention. */
export function AuditSection() {
  const [draft, setDraft] = useState<Filters>(noFilters);
  const [filters, setFilters] = useState<Filters>(noFilters);
  const [page, setPage] = useState(1);
  const log = useAsync(() => call(api.GET("/api/v1/audit", { params: { query: { page, pageSize, ...queryOf(filters) } } })), [page, filters]);
  const pages = log.data ? Math.max(1, Math.ceil(log.data.total / pageSize)) : 1;

  function apply(e: FormEvent) {
    e.preventDefault();
    setPage(1);
    setFilters(draft);
    log.reload();
  }

  const exportQuery = new URLSearchParams(Object.entries(queryOf(filters)).filter((kv): kv is [string, string] => kv[1] !== undefined));
  const cli = ["audit", "list", ...option("--user", filters.user), ...option("--action", filters.action), ...option("--object", filters.object), ...option("--result", filters.result), ...option("--since", filters.from), ...option("--until", filters.to)];

  return (
    <>
      <VerifyChain />
      <form className="filters" aria-label="Audit filters" onSubmit={apply}>
        <label>
          User
          <input value={draft.user} onChange={(e) => setDraft({ ...draft, user: e.target.value })} placeholder="alice@vessel" />
        </label>
        <label>
          Action
          <input value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} placeholder="vm.start, vm, login" />
        </label>
        <label>
          Object contains
          <input value={draft.object} onChange={(e) => setDraft({ ...draft, object: e.target.value })} placeholder="vm:web1" />
        </label>
        <label>
          Result
          <select aria-label="Result" value={draft.result} onChange={(e) => setDraft({ ...draft, result: e.target.value })}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
          </select>
        </label>
        <label>
          From
          <input type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </label>
        <label>
          To
          <input type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </label>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button type="button" onClick={() => (setDraft(noFilters), setFilters(noFilters), setPage(1))}>
            Clear
          </button>
        </div>
      </form>
      <SectionBar>
        <span className="muted" role="status">
          {log.data ? `${log.data.total} entries · page ${log.data.pageNumber} of ${pages}` : "Loading…"}
        </span>
        <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
          Newer
        </button>
        <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
          Older
        </button>
        <button type="button" onClick={log.reload}>
          Refresh
        </button>
        <a className="button" href={`/api/v1/audit/export?${new URLSearchParams([...exportQuery, ["format", "csv"]])}`} download>
          Export CSV
        </a>
        <a className="button" href={`/api/v1/audit/export?${new URLSearchParams([...exportQuery, ["format", "json"]])}`} download>
          Export JSON
        </a>
      </SectionBar>
      <ShowAsCommand call={{ method: "GET", path: `/api/v1/audit?${new URLSearchParams([...exportQuery, ["pageSize", String(pageSize)]])}` }} cli={cli} />
      <ErrorLine error={log.error} />
      <div className="table-scroll">
        <table aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time</th>
              <th scope="col">User</th>
              <th scope="col">Source</th>
              <th scope="col">Action</th>
              <th scope="col">Object</th>
              <th scope="col">Result</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {(log.data?.items ?? []).map((entry) => (
              <tr key={entry.sequence}>
                <td>{entry.sequence}</td>
                <td>{formatTime(entry.time)}</td>
                <td>{entry.user}</td>
                <td>{entry.source}</td>
                <td>{entry.action}</td>
                <td className="wrap">{entry.object}</td>
                <td>
                  <span className={entry.status < 400 ? "state state-succeeded" : "state state-failed"}>{entry.status}</span>
                </td>
                <td className="wrap">{entry.detail ?? ""}</td>
              </tr>
            ))}
            {log.data?.items.length === 0 && (
              <tr>
                <td colSpan={8} className="muted">
                  No entries match.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Retention />
    </>
  );
}

/** Verifies the hash chain on the server and says what it found, in a sentence. */
function VerifyChain() {
  const [result, setResult] = useState<AuditVerification | null>(null);
  const action = useAction();
  async function verify() {
    await action.run(async () => setResult(await call(api.POST("/api/v1/audit/verify"))));
  }
  return (
    <div className="card verify" aria-label="Chain verification">
      <div className="toolbar">
        <button type="button" onClick={() => void verify()} disabled={action.busy}>
          {action.busy ? "Verifying…" : "Verify the chain"}
        </button>
        {result && (
          <p role="status" className={result.ok ? "ok-text" : "error"}>
            {result.ok
              ? `The chain is intact: ${result.entries} entries verified.`
              : `The chain is broken at entry #${result.firstBroken?.sequence ?? "?"}: ${result.firstBroken?.reason ?? "no reason given"}.`}
          </p>
        )}
      </div>
      <ErrorLine error={action.error} />
      <ShowAsCommand call={{ method: "POST", path: "/api/v1/audit/verify" }} cli={["audit", "verify"]} />
    </div>
  );
}

/** How many days the log keeps its entries (Sys.Modify to change). */
function Retention() {
  const settings = useAsync(() => call(api.GET("/api/v1/audit/settings")), []);
  const privileges = usePrivileges("/");
  const mayModify = privileges?.has("Sys.Modify") ?? false;
  const [days, setDays] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const action = useAction();
  const shown = days ?? (settings.data ? String(settings.data.retentionDays) : "");
  const body = { retentionDays: Number(shown) };

  async function save(e: FormEvent) {
    e.preventDefault();
    setSaved(null);
    try {
      if (!/^\d+$/.test(shown)) throw new Error("The retention is a whole number of days.");
      if (await action.run(async () => setSaved(`Entries are kept ${(await call(api.PUT("/api/v1/audit/settings", { body }))).retentionDays} days.`))) settings.reload();
    } catch (failure) {
      setSaved(messageOf(failure));
    }
  }

  return (
    <form className="card" aria-label="Retention" onSubmit={save}>
      <h2>Retention</h2>
      <label>
        Keep entries for (days)
        <input type="number" min={0} value={shown} readOnly={!mayModify} onChange={(e) => setDays(e.target.value)} aria-describedby="retention-error" />
      </label>
      <ErrorLine id="retention-error" error={action.error ?? settings.error} />
      {saved && <p role="status">{saved}</p>}
      {mayModify && (
        <>
          <button type="submit" disabled={action.busy}>
            Save retention
          </button>
          <ShowAsCommand call={{ method: "PUT", path: "/api/v1/audit/settings", body }} />
        </>
      )}
    </form>
  );
}
