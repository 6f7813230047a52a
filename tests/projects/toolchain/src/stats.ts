export interface Summary {
  count: number;
  mean: number;
  median: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) {
    throw new RangeError("summarize() needs at least one value");
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 0 ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle];
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  return { count: sorted.length, mean, median };
}
