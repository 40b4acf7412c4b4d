import { useState } from "react";
import { curlCommand, vesselCommand, type ApiCall } from "../api/commands";

/**
 * "Show as API call / CLI command": every dialog and wizard offers the exact equivalents of
 * what it is about to do. `curl` replaces the generated command where the body is no JSON (an
 * upload's file).
 */
export function ShowAsCommand({ call, cli, curl }: { call: ApiCall; cli?: readonly string[]; curl?: string }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="show-as">
      <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? "Hide" : "Show as API call / CLI command"}
      </button>
      {open && (
        <div className="commands">
          <label>
            API call
            <textarea readOnly aria-label="API call" value={curl ?? curlCommand(call)} rows={3} />
          </label>
          {cli && (
            <label>
              CLI command
              <textarea readOnly aria-label="CLI command" value={vesselCommand(cli)} rows={2} />
            </label>
          )}
        </div>
      )}
    </div>
  );
}
