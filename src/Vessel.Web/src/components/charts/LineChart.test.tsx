import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { LineChart } from "./LineChart";

afterEach(cleanup);

describe("LineChart", () => {
  it("is an image named by its title and described in words by its latest and peak values", () => {
    const times = [Date.UTC(2026, 0, 1, 10, 0, 0), Date.UTC(2026, 0, 1, 10, 0, 5), Date.UTC(2026, 0, 1, 10, 0, 10)];
    render(<LineChart title="CPU" times={times} fixedTop={100} format={(v) => `${Math.round(v)} %`} series={[{ label: "CPU", values: [10, 80, 25], color: "red" }]} />);
    const chart = screen.getByRole("img", { name: "CPU" });
    const description = document.getElementById(chart.getAttribute("aria-describedby")!)!.textContent!;
    expect(description).toMatch(/^CPU from .+ to .+: CPU now 25 %, peak 80 %\.$/);
    expect(chart.querySelectorAll("path")).toHaveLength(1);
    expect(screen.getByText("CPU: 25 %")).toBeTruthy();
  });

  it("labels its value axis from zero to a round top above the peak", () => {
    render(<LineChart title="Disk" times={[0, 1000]} format={(v) => String(v)} series={[{ label: "Read", values: [300, 700], color: "red" }]} />);
    const labels = [...document.querySelectorAll(".chart-axis text")].map((t) => t.textContent);
    expect(labels.slice(0, 3)).toEqual(["0", "500", "1000"]);
  });

  it("says so when there are no samples", () => {
    render(<LineChart title="Network" times={[]} format={String} series={[{ label: "Received", values: [], color: "red" }]} />);
    const chart = screen.getByRole("img", { name: "Network" });
    expect(document.getElementById(chart.getAttribute("aria-describedby")!)!.textContent).toBe("Network: no samples yet.");
  });
});
