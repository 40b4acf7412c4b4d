import { useEffect } from "react";
import { api, call } from "../../api/client";
import { useAsync } from "../../components/useAsync";
import { href } from "../../routes";

const changedEvent = "vessel-license-changed";

/** Tells the banner and the licence page that a licence was installed or removed. */
export function licenseChanged(): void {
  window.dispatchEvent(new Event(changedEvent));
}

export function useLicenseChanges(reload: () => void): void {
  useEffect(() => {
    window.addEventListener(changedEvent, reload);
    return () => window.removeEventListener(changedEvent, reload);
  }, [reload]);
}

/**
 * The licence's warning above every page (from 30 days before the expiry, and after it), from
 * the same endpoint as the licence page. A caller who may not read the licence (no Sys.Audit)
 * sees no banner: the server's Warning header still reaches its scripts.
 */
export function LicenseBanner() {
  const license = useAsync(() => call(api.GET("/api/v1/license")).catch(() => null), []);
  useLicenseChanges(license.reload);
  const warning = license.data?.warning;
  if (!warning) return null;
  return (
    <p className="banner warn" role="alert" aria-label="Licence warning">
      {warning} <a href={href({ page: "admin", section: "license" })}>Licence</a>
    </p>
  );
}
