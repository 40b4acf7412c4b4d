/**
 * "Show as API call / CLI command": the exact `curl` and `vessel` equivalents of what a
 * dialog is about to do, so that what a user clicks once they can script next.
 */
export interface ApiCall {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The curl command of an API call on this server, with an API token from $VESSEL_TOKEN. */
export function curlCommand(call: ApiCall, origin: string = window.location.origin): string {
  // The token stays in the environment (double quotes: the shell expands it), never in the text.
  const parts = ["curl", "-k", "-X", call.method, shellQuote(origin + call.path), "-H", `"Authorization: Bearer $VESSEL_TOKEN"`];
  if (call.body !== undefined) {
    parts.push("-H", shellQuote("Content-Type: application/json"), "--data", shellQuote(JSON.stringify(call.body)));
  }
  return parts.join(" ");
}

/**
 * The vessel command line from its words (each quoted as needed), talking to this server
 * (`--server` belongs to the command groups, so it comes after the words).
 */
export function vesselCommand(words: readonly string[], origin: string = window.location.origin): string {
  return ["vessel", ...words.map(shellQuote), "--server", shellQuote(origin)].join(" ");
}
