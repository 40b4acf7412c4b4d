// Being built in parallel (issue 15); replaced before the issue is closed.
export function StoragePage({ name }: { name: string }) {
  return <section className="page" aria-label={`Storage ${name}`}><h1>{name}</h1></section>;
}
