/**
 * The global search's syntax: words and `key:value` terms, all of which must match.
 *
 *   web                    the name contains "web"
 *   name:web               the same
 *   tag:prod               tagged prod (exactly)
 *   state:running          in that state
 *   kind:vm                vm, template, storage, network, volume, user, ...
 *   -tag:test  -web        not tagged test, name not containing web
 *   name:"my vm"           a value with spaces in quotes
 *
 * A key the syntax does not know is an error with a sentence, shown under the search box.
 */
export interface SearchTerm {
  key: SearchKey;
  value: string;
  negated: boolean;
}

export const searchKeys = ["name", "tag", "state", "kind"] as const;
export type SearchKey = (typeof searchKeys)[number];

export interface SearchQuery {
  terms: SearchTerm[];
  error: string | null;
}

/** Something the search can find: a VM, a template, a pool, a network, ... */
export interface Searchable {
  kind: string;
  name: string;
  state?: string;
  tags?: readonly string[];
}

export function parseSearch(text: string): SearchQuery {
  const terms: SearchTerm[] = [];
  if ((text.match(/"/g) ?? []).length % 2 === 1) {
    return { terms, error: "A quotation mark in the search is not closed." };
  }
  // A token is a run of non-spaces, where a quoted part may hold spaces.
  for (const token of text.match(/(?:[^\s"]|"[^"]*")+|\S+/g) ?? []) {
    const [, minus = "", key, raw = ""] = /^(-?)(?:([A-Za-z]+):)?(.*)$/.exec(token) ?? [];
    if (key !== undefined && !(searchKeys as readonly string[]).includes(key.toLowerCase())) {
      return { terms, error: `The search knows ${searchKeys.map((k) => k + ":").join(", ")} and words, not "${key}:".` };
    }
    const value = raw.replace(/"/g, "");
    if (value.length === 0) {
      return { terms, error: `"${key ?? ""}:" needs a value, such as ${key ?? "name"}:${exampleOf(key)}.` };
    }
    terms.push({ key: (key?.toLowerCase() ?? "name") as SearchKey, value, negated: minus === "-" });
  }
  return { terms, error: null };
}

function exampleOf(key: string | undefined): string {
  switch (key?.toLowerCase()) {
    case "tag":
      return "prod";
    case "state":
      return "running";
    case "kind":
      return "vm";
    default:
      return "web";
  }
}

function termMatches(term: SearchTerm, item: Searchable): boolean {
  const value = term.value.toLowerCase();
  switch (term.key) {
    case "name":
      return item.name.toLowerCase().includes(value);
    case "tag":
      return (item.tags ?? []).some((t) => t.toLowerCase() === value);
    case "state":
      return (item.state ?? "").toLowerCase() === value;
    case "kind":
      return item.kind.toLowerCase() === value;
  }
}

/** Whether an object matches every term of the query (an empty query matches everything). */
export function matches(query: SearchQuery, item: Searchable): boolean {
  return query.terms.every((term) => termMatches(term, item) !== term.negated);
}

export function search<T extends Searchable>(text: string, items: readonly T[]): { results: T[]; error: string | null } {
  const query = parseSearch(text);
  if (query.error) return { results: [], error: query.error };
  return { results: items.filter((item) => matches(query, item)), error: null };
}
