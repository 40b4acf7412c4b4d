import type { AdminSection } from "../../routes";
import { adminTitles } from "../../layout/Shell";
import { AuditSection } from "./AuditSection";
import { GroupsSection } from "./GroupsSection";
import { LicenseSection } from "./LicenseSection";
import { OperationsSection } from "./OperationsSection";
import { PermissionsSection } from "./PermissionsSection";
import { RolesSection } from "./RolesSection";
import { TokensSection } from "./TokensSection";
import { UsersSection } from "./UsersSection";

/** Administration (issue 15, item 5): one section per page, each in its own file. */
export function AdminPage({ section }: { section: AdminSection }) {
  return (
    <section className="page admin" aria-label={adminTitles[section]}>
      <h1>{adminTitles[section]}</h1>
      <Section section={section} />
    </section>
  );
}

function Section({ section }: { section: AdminSection }) {
  switch (section) {
    case "operations":
      return <OperationsSection />;
    case "audit":
      return <AuditSection />;
    case "users":
      return <UsersSection />;
    case "groups":
      return <GroupsSection />;
    case "roles":
      return <RolesSection />;
    case "permissions":
      return <PermissionsSection />;
    case "tokens":
      return <TokensSection />;
    case "license":
      return <LicenseSection />;
  }
}
