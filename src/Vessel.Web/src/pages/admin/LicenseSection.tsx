import { useState, type FormEvent } from "react";
import { api, call } from "../../api/client";
import { usePrivileges } from "../../api/session";
import { ErrorLine } from "../../components/ErrorLine";
import { ShowAsCommand } from "../../components/ShowAsCommand";
import { formatTime } from "../../components/format";
import { useAction, useAsync } from "../../components/useAsync";
import { licenseChanged, useLicenseChanges } from "./LicenseBanner";
import type { LicenseInfo } from "./adminCommon";

/** The licence (or the evaluation): status, capacity, features, its warning; install or remove one. */
export function LicenseSection() {
  const license = useAsync(() => call(api.GET("/api/v1/license")), []);
  useLicenseChanges(license.reload);
  const privileges = usePrivileges("/");
  const mayManage = privileges?.has("License.Manage") ?? false;
  return (
    <>
      <ErrorLine error={license.error} />
      {license.data && <LicenseStatus license={license.data} />}
      {mayManage && <InstallLicense />}
      {mayManage && license.data?.mode === "licensed" && <RemoveLicense />}
    </>
  );
}

function LicenseStatus({ license }: { license: LicenseInfo }) {
  const capacity = license.capacity;
  const limit = (value: number | null | undefined) => (value === null || value === undefined ? "unlimited" : String(value));
  return (
    <>
      {license.warning && (
        <p className="banner warn" role="alert">
          {license.warning}
        </p>
      )}
      <div className="card">
        <h2>{license.mode === "evaluation" ? "Evaluation" : `Licensed to ${license.licensee ?? "–"}`}</h2>
        <dl className="facts" aria-label="Licence status">
          <dt>Mode</dt>
          <dd>{license.mode}</dd>
          {license.edition && (
            <>
              <dt>Edition</dt>
              <dd>{license.edition}</dd>
            </>
          )}
          {license.id && (
            <>
              <dt>Licence</dt>
              <dd>{license.id}</dd>
            </>
          )}
          <dt>Valid</dt>
          <dd>
            {formatTime(license.validFrom)} – {formatTime(license.expiresAt)}
          </dd>
          <dt>Status</dt>
          <dd>
            <span className={license.expired ? "state state-failed" : "state state-succeeded"}>{license.expired ? "expired" : "valid"}</span>{" "}
            {license.expired ? "VMs cannot be powered on." : `${license.daysLeft ?? 0} day(s) left`}
          </dd>
          <dt>Hosts</dt>
          <dd>{limit(capacity?.hosts)}</dd>
          <dt>Sockets</dt>
          <dd>{limit(capacity?.sockets)}</dd>
          <dt>vCPUs</dt>
          <dd>{limit(capacity?.vcpus)}</dd>
          <dt>Running VMs</dt>
          <dd>{limit(capacity?.runningVms)}</dd>
          <dt>Features</dt>
          <dd>{license.features?.join(", ") || "–"}</dd>
          {license.installedAt && (
            <>
              <dt>Installed</dt>
              <dd>
                {formatTime(license.installedAt)} by {license.installedBy ?? "–"}
              </dd>
            </>
          )}
        </dl>
      </div>
    </>
  );
}

function InstallLicense() {
  const [text, setText] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();

  async function readFile(file: File | undefined) {
    if (file) setText(await file.text());
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setDone(null);
    const ok = await action.run(async () => {
      const installed = await call(api.PUT("/api/v1/license", { body: { license: text } }));
      setDone(`Licence ${installed.id ?? ""} for ${installed.licensee ?? "–"} is installed.`);
    });
    if (ok) {
      setText("");
      licenseChanged();
    }
  }

  return (
    <form className="card" aria-label="Install a licence" onSubmit={submit}>
      <h2>Install a licence</h2>
      <label>
        Licence file
        <input type="file" onChange={(e) => void readFile(e.target.files?.[0])} />
      </label>
      <label>
        Licence text
        <textarea rows={6} required value={text} onChange={(e) => setText(e.target.value)} aria-describedby="license-error" spellCheck={false} />
      </label>
      <ErrorLine id="license-error" error={action.error} />
      {done && <p role="status">{done}</p>}
      <button type="submit" className="primary" disabled={action.busy || text.length === 0}>
        Install licence
      </button>
      <ShowAsCommand call={{ method: "PUT", path: "/api/v1/license", body: { license: "LICENCE TEXT" } }} cli={["license", "install", "FILE"]} />
    </form>
  );
}

function RemoveLicense() {
  const action = useAction();
  async function remove() {
    if (!window.confirm("Remove the licence? The host goes back to its evaluation, which may have ended.")) return;
    if (await action.run(() => call(api.DELETE("/api/v1/license")))) licenseChanged();
  }
  return (
    <div className="card">
      <button type="button" className="danger" disabled={action.busy} onClick={() => void remove()}>
        Remove licence
      </button>
      <ErrorLine error={action.error} />
      <ShowAsCommand call={{ method: "DELETE", path: "/api/v1/license" }} cli={["license", "remove"]} />
    </div>
  );
}
