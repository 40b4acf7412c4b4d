import { describe, expect, it } from "vitest";
import { linePath, niceCeiling, peak } from "./scale";

describe("niceCeiling", () => {
  it("rounds up to 1, 2, 2.5 or 5 times a power of ten", () => {
    expect(niceCeiling(0.7)).toBe(1);
    expect(niceCeiling(1.3)).toBe(2);
    expect(niceCeiling(2.2)).toBe(2.5);
    expect(niceCeiling(37)).toBe(50);
    expect(niceCeiling(80_000)).toBe(100_000);
    expect(niceCeiling(200)).toBe(200);
  });

  it("gives an empty chart an axis of 1", () => {
    expect(niceCeiling(0)).toBe(1);
    expect(niceCeiling(Number.NaN)).toBe(1);
  });
});

describe("linePath", () => {
  it("spreads the points over the width by time and over the height by value", () => {
    expect(linePath([0, 5, 10], [0, 50, 100], 200, 100, 100)).toBe("M0.0,100.0L100.0,50.0L200.0,0.0");
  });

  it("breaks the line at a missing value", () => {
    expect(linePath([0, 1, 2, 3], [10, null, 10, 10], 30, 10, 10)).toBe("M0.0,0.0M20.0,0.0L30.0,0.0");
  });

  it("keeps values above the axis inside the box", () => {
    expect(linePath([0, 1], [200, -5], 10, 10, 100)).toBe("M0.0,0.0L10.0,10.0");
  });
});

describe("peak", () => {
  it("is the largest value of all series, ignoring missing ones", () => {
    expect(peak([[1, null, 3], [2]])).toBe(3);
    expect(peak([])).toBe(0);
  });
});
