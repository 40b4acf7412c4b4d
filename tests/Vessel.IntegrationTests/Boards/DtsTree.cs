using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Vessel.IntegrationTests.Boards;

/// <summary>
/// A device tree read back from the DTS text that <c>dtc -I dtb -O dts</c> prints: nodes in
/// order, each property's value as the exact bytes dtc decoded.
/// </summary>
internal sealed class DtsTree
{
    private DtsTree(DtsNode root)
    {
        Root = root;
    }

    public DtsNode Root { get; }

    /// <summary>Parses dtc's output (one property or node line per line, as dtc writes it).</summary>
    public static DtsTree Parse(string dts)
    {
        var stack = new Stack<DtsNode>();
        DtsNode? root = null;
        foreach (string raw in dts.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("/dts-v1/", StringComparison.Ordinal) || line.StartsWith("/memreserve/", StringComparison.Ordinal))
            {
                continue;
            }

            if (line == "};")
            {
                stack.Pop();
                continue;
            }

            if (line.EndsWith(" {", StringComparison.Ordinal))
            {
                string name = line[..^2];
                if (stack.Count == 0)
                {
                    if (name != "/")
                    {
                        throw new FormatException($"Expected the root node, found '{line}'.");
                    }

                    root = new DtsNode("", "/");
                    stack.Push(root);
                }
                else
                {
                    DtsNode parent = stack.Peek();
                    var node = new DtsNode(name, parent.Path == "/" ? "/" + name : parent.Path + "/" + name);
                    parent.Children.Add(node);
                    stack.Push(node);
                }

                continue;
            }

            if (!line.EndsWith(';') || stack.Count == 0)
            {
                throw new FormatException($"Unexpected line in dtc output: '{line}'.");
            }

            int equals = line.IndexOf(" = ", StringComparison.Ordinal);
            if (equals < 0)
            {
                stack.Peek().Properties.Add(line[..^1], []);
            }
            else
            {
                stack.Peek().Properties.Add(line[..equals], ParseValue(line[(equals + 3)..^1]));
            }
        }

        return new DtsTree(root ?? throw new FormatException("dtc printed no root node."));
    }

    public DtsNode? Find(string path)
    {
        if (path == "/")
        {
            return Root;
        }

        DtsNode? node = Root;
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = node?.Children.FirstOrDefault(c => c.Name == part);
        }

        return node;
    }

    /// <summary>Removes the node at <paramref name="path"/>; false when there is none.</summary>
    public bool Remove(string path)
    {
        int slash = path.LastIndexOf('/');
        DtsNode? parent = Find(slash == 0 ? "/" : path[..slash]);
        DtsNode? node = Find(path);
        return parent is not null && node is not null && parent.Children.Remove(node);
    }

    /// <summary>phandle value -> path of the node that carries it.</summary>
    public Dictionary<uint, string> Phandles()
    {
        var map = new Dictionary<uint, string>();
        foreach (DtsNode node in Root.DescendantsAndSelf())
        {
            if (node.Properties.TryGetValue("phandle", out byte[]? value))
            {
                map.Add(BinaryPrimitives.ReadUInt32BigEndian(value), node.Path);
            }
        }

        return map;
    }

    private static byte[] ParseValue(string text)
    {
        var bytes = new List<byte>();
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c is ' ' or ',')
            {
                i++;
            }
            else if (c == '"')
            {
                i = ParseString(text, i + 1, bytes);
            }
            else if (c == '<')
            {
                int end = text.IndexOf('>', i);
                foreach (string cell in text[(i + 1)..end].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    uint value = cell.StartsWith("0x", StringComparison.Ordinal)
                        ? uint.Parse(cell.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                        : uint.Parse(cell, CultureInfo.InvariantCulture);
                    bytes.Add((byte)(value >> 24));
                    bytes.Add((byte)(value >> 16));
                    bytes.Add((byte)(value >> 8));
                    bytes.Add((byte)value);
                }

                i = end + 1;
            }
            else if (c == '[')
            {
                int end = text.IndexOf(']', i);
                foreach (string b in text[(i + 1)..end].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    bytes.Add(byte.Parse(b, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }

                i = end + 1;
            }
            else
            {
                throw new FormatException($"Cannot read property value '{text}'.");
            }
        }

        return bytes.ToArray();
    }

    // dtc writes NUL as \0 (never an octal escape), other unprintable bytes as \xNN.
    private static int ParseString(string text, int i, List<byte> bytes)
    {
        while (text[i] != '"')
        {
            if (text[i] == '\\')
            {
                char escaped = text[i + 1];
                i += 2;
                switch (escaped)
                {
                    case '0': bytes.Add(0); break;
                    case 'a': bytes.Add(7); break;
                    case 'b': bytes.Add(8); break;
                    case 't': bytes.Add(9); break;
                    case 'n': bytes.Add(10); break;
                    case 'v': bytes.Add(11); break;
                    case 'f': bytes.Add(12); break;
                    case 'r': bytes.Add(13); break;
                    case 'x':
                        bytes.Add(byte.Parse(text.AsSpan(i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        i += 2;
                        break;
                    default: bytes.Add((byte)escaped); break;
                }
            }
            else
            {
                bytes.AddRange(Encoding.ASCII.GetBytes(text[i].ToString()));
                i++;
            }
        }

        bytes.Add(0);
        return i + 1;
    }
}

/// <summary>One node of a <see cref="DtsTree"/>.</summary>
internal sealed class DtsNode(string name, string path)
{
    public string Name { get; } = name;

    public string Path { get; } = path;

    public Dictionary<string, byte[]> Properties { get; } = new(StringComparer.Ordinal);

    public List<DtsNode> Children { get; } = [];

    public IEnumerable<DtsNode> DescendantsAndSelf()
    {
        yield return this;
        foreach (DtsNode child in Children)
        {
            foreach (DtsNode node in child.DescendantsAndSelf())
            {
                yield return node;
            }
        }
    }
}
