import { describe, expect, it } from "vitest";
import { dateOf, endOfDayUtc, option } from "./adminCommon";

describe("admin forms", () => {
  it("reads a date field as the end of that day in UTC, and an empty one as never", () => {
    expect(endOfDayUtc("2027-01-31")).toBe("2027-01-31T23:59:59.000Z");
    expect(endOfDayUtc("")).toBeNull();
    expect(endOfDayUtc("not a date")).toBeNull();
  });

  it("shows an API time in a date field by its day", () => {
    expect(dateOf("2027-01-31T23:59:59Z")).toBe("2027-01-31");
    expect(dateOf(null)).toBe("");
  });

  it("writes an optional CLI option only when it has a value", () => {
    expect(option("--comment", "ci")).toEqual(["--comment", "ci"]);
    expect(option("--comment", "")).toEqual([]);
    expect(option("--expires", null)).toEqual([]);
  });
});
