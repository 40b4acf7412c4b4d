import { act, cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

// The banner reads GET /api/v1/license; here the answer is made up, one per test.
const answer = vi.hoisted(() => ({ current: null as unknown }));
vi.mock("../../api/client", () => ({
  api: { GET: () => Promise.resolve() },
  call: () => (answer.current instanceof Error ? Promise.reject(answer.current) : Promise.resolve(answer.current)),
}));

import { LicenseBanner, licenseChanged } from "./LicenseBanner";

afterEach(cleanup);

describe("the licence banner", () => {
  it("shows the licence's warning with a link to the licence page, and goes when a licence is installed", async () => {
    answer.current = { mode: "evaluation", warning: "The evaluation ends in 12 days." };
    render(<LicenseBanner />);
    const banner = await screen.findByRole("alert", { name: "Licence warning" });
    expect(banner.textContent).toContain("The evaluation ends in 12 days.");
    expect(screen.getByRole("link", { name: "Licence" }).getAttribute("href")).toBe("#/admin/license");

    answer.current = { mode: "licensed", warning: null };
    await act(async () => licenseChanged());
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("shows nothing to a caller who may not read the licence", async () => {
    answer.current = new Error("Sys.Audit is needed on /.");
    render(<LicenseBanner />);
    await act(async () => undefined);
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
