/** The server's sentence, next to what caused it; announced to screen readers as it appears. */
export function ErrorLine({ error, id }: { error: string | null | undefined; id?: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert" id={id}>
      {error}
    </p>
  );
}
