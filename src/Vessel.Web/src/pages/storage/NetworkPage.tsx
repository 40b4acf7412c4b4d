// Being built in parallel (issue 15); replaced before the issue is closed.
export function NetworkPage({ name }: { name: string }) {
  return <section className="page" aria-label={`Network ${name}`}><h1>{name}</h1></section>;
}
