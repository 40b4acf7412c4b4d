import { describe, expect, it } from "vitest";
import { matches, parseSearch, search, type Searchable } from "./query";

const inventory: Searchable[] = [
  { kind: "vm", name: "web1", state: "running", tags: ["prod", "frontend"] },
  { kind: "vm", name: "web2", state: "stopped", tags: ["test"] },
  { kind: "vm", name: "db", state: "running", tags: ["prod"] },
  { kind: "template", name: "web-base", state: "stopped", tags: [] },
  { kind: "network", name: "default" },
  { kind: "vm", name: "my vm", state: "paused", tags: ["Prod"] },
];

const names = (text: string) => search(text, inventory).results.map((i) => i.name);

describe("search syntax", () => {
  it("reads the issue's example as three terms that must all match", () => {
    const query = parseSearch("name:web tag:prod state:running");
    expect(query.error).toBeNull();
    expect(query.terms).toEqual([
      { key: "name", value: "web", negated: false },
      { key: "tag", value: "prod", negated: false },
      { key: "state", value: "running", negated: false },
    ]);
    expect(names("name:web tag:prod state:running")).toEqual(["web1"]);
  });

  it("takes a bare word as a part of the name, case-insensitively", () => {
    expect(names("WEB")).toEqual(["web1", "web2", "web-base"]);
  });

  it("matches tags whole, not as parts", () => {
    expect(names("tag:pro")).toEqual([]);
    expect(names("tag:prod")).toEqual(["web1", "db", "my vm"]);
  });

  it("negates a term with a minus", () => {
    expect(names("web -tag:test")).toEqual(["web1", "web-base"]);
    expect(names("-web kind:vm")).toEqual(["db", "my vm"]);
  });

  it("reads a quoted value with its spaces", () => {
    expect(names('name:"my vm"')).toEqual(["my vm"]);
  });

  it("finds every kind of object, and filters by kind", () => {
    expect(names("kind:network")).toEqual(["default"]);
    expect(names("kind:template")).toEqual(["web-base"]);
  });

  it("matches everything when empty", () => {
    expect(search("", inventory).results).toHaveLength(inventory.length);
    expect(matches(parseSearch("   "), inventory[0]!)).toBe(true);
  });

  it("refuses an unknown key with a sentence naming the known ones", () => {
    const result = search("colour:red", inventory);
    expect(result.results).toEqual([]);
    expect(result.error).toBe('The search knows name:, tag:, state:, kind: and words, not "colour:".');
  });

  it("refuses a key without a value and an unclosed quotation mark", () => {
    expect(parseSearch("tag:").error).toBe('"tag:" needs a value, such as tag:prod.');
    expect(parseSearch('name:"web').error).toBe("A quotation mark in the search is not closed.");
  });
});
