/// <summary>Percentiles of measured times, nearest-rank (the value at rank ceil(p/100 x n)).</summary>
internal static class Percentiles
{
    public static double Of(IEnumerable<double> values, int percentile)
    {
        List<double> sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}
