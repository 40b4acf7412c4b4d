/**
 * Tags with colours: each tag has its own hue, computed from its name, so the same tag looks
 * the same everywhere (on every page, for every user) without anything to configure.
 */
export function tagHue(tag: string): number {
  let hash = 0;
  for (let i = 0; i < tag.length; i++) hash = (hash * 31 + tag.charCodeAt(i)) | 0;
  return Math.abs(hash) % 360;
}

export function Tags({ tags }: { tags: readonly string[] }) {
  return (
    <span className="tags">
      {tags.map((tag) => (
        <span key={tag} className="tag" style={{ ["--tag-hue" as string]: tagHue(tag) }}>
          {tag}
        </span>
      ))}
    </span>
  );
}
