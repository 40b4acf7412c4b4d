import type { ReactNode } from "react";
import type { Schemas } from "../../api/client";

export type UserInfo = Schemas["UserInfo"];
export type GroupInfo = Schemas["GroupInfo"];
export type RoleInfo = Schemas["RoleInfo"];
export type AclEntryInfo = Schemas["AclEntryInfo"];
export type TokenInfo = Schemas["TokenInfo"];
export type AuditEntryInfo = Schemas["AuditEntryInfo"];
export type LicenseInfo = Schemas["LicenseInfo"];

/** Where user, group, role and permission changes are checked (AccessEndpoints.AccessPath). */
export const accessPath = "/access";

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A date from a date field (YYYY-MM-DD) as the API's time: the end of that day in UTC, so that
 * "expires 2027-01-31" still works on the 31st, as the CLI's `--expires 2027-01-31` reads.
 */
export function endOfDayUtc(date: string): string | null {
  if (!date) return null;
  const time = new Date(`${date}T23:59:59Z`);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
}

/** The date part (YYYY-MM-DD) of an API time, for a date field. */
export function dateOf(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : "";
}

/** An optional CLI option: its words when the value is set. */
export function option(name: string, value: string | null | undefined): string[] {
  return value ? [name, value] : [];
}

/** A toolbar above an admin table: its title's count, and the actions on the right. */
export function SectionBar({ children }: { children: ReactNode }) {
  return <div className="admin-bar toolbar">{children}</div>;
}
