import { useEffect, useState } from "react";

/**
 * Where the user is, kept in the URL's fragment so that every page has an address (a link, a
 * bookmark, the browser's back button, a console in a window of its own):
 * `#/vm/web1/snapshots`, `#/storage/default`, `#/search?q=tag:prod`, `#/console/web1/serial`.
 */
export type Route =
  | { page: "home" }
  | { page: "vm"; name: string; tab: VmTab }
  | { page: "storage"; name: string }
  | { page: "network"; name: string }
  | { page: "host"; name: string }
  | { page: "search"; query: string }
  | { page: "create-vm" }
  | { page: "console"; name: string; kind: "serial" | "graphic" }
  | { page: "admin"; section: AdminSection };

export const vmTabs = ["summary", "console", "hardware", "snapshots", "clones", "permissions", "tasks"] as const;
export type VmTab = (typeof vmTabs)[number];

export const adminSections = ["operations", "audit", "users", "groups", "roles", "permissions", "tokens", "license"] as const;
export type AdminSection = (typeof adminSections)[number];

export function parseRoute(hash: string): Route {
  const [pathPart = "", queryPart = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const parts = pathPart.split("/").filter((p) => p.length > 0).map(decodeURIComponent);
  const query = new URLSearchParams(queryPart);
  const [first, second, third] = parts;
  switch (first) {
    case "vm":
      if (second) return { page: "vm", name: second, tab: (vmTabs as readonly string[]).includes(third ?? "") ? (third as VmTab) : "summary" };
      break;
    case "storage":
      if (second) return { page: "storage", name: second };
      break;
    case "network":
      if (second) return { page: "network", name: second };
      break;
    case "host":
      return { page: "host", name: second ?? "local" };
    case "search":
      return { page: "search", query: query.get("q") ?? "" };
    case "create-vm":
      return { page: "create-vm" };
    case "console":
      if (second) return { page: "console", name: second, kind: third === "graphic" ? "graphic" : "serial" };
      break;
    case "admin":
      if ((adminSections as readonly string[]).includes(second ?? "")) return { page: "admin", section: second as AdminSection };
      break;
  }
  return { page: "home" };
}

export function href(route: Route): string {
  const e = encodeURIComponent;
  switch (route.page) {
    case "home":
      return "#/";
    case "vm":
      return `#/vm/${e(route.name)}/${route.tab}`;
    case "storage":
      return `#/storage/${e(route.name)}`;
    case "network":
      return `#/network/${e(route.name)}`;
    case "host":
      return `#/host/${e(route.name)}`;
    case "search":
      return `#/search?q=${e(route.query)}`;
    case "create-vm":
      return "#/create-vm";
    case "console":
      return `#/console/${e(route.name)}/${route.kind}`;
    case "admin":
      return `#/admin/${route.section}`;
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}
