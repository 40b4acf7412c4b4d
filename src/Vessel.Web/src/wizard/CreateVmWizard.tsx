// Being built in parallel (issue 15); replaced before the issue is closed.
export function CreateVmWizard() {
  return <section className="page" aria-label="Create VM"><h1>Create VM</h1></section>;
}
