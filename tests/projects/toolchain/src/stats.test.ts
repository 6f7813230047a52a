import { summarize } from "./stats";

describe("summarize", () => {
  it("computes count, mean and median", () => {
    expect(summarize([3, 1, 2, 6])).toEqual({ count: 4, mean: 3, median: 2.5 });
  });

  it("rejects an empty list", () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});
