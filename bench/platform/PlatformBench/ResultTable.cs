/// <summary>The bench's one output: a Markdown table of measures and their figures.</summary>
internal static class ResultTable
{
    public static void Print(IReadOnlyList<(string What, string Figure)> rows)
    {
        int width = rows.Max(r => r.What.Length);
        Console.WriteLine($"| {"measure".PadRight(width)} | result |");
        Console.WriteLine($"|{new string('-', width + 2)}|--------|");
        foreach ((string what, string figure) in rows)
        {
            Console.WriteLine($"| {what.PadRight(width)} | {figure} |");
        }
    }
}
