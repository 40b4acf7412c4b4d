// Being built in parallel (issue 15); replaced before the issue is closed.
export function ConsoleWindow({ name, kind }: { name: string; kind: "serial" | "graphic" }) {
  return <main aria-label={`Console of ${name}`}>{kind}</main>;
}
