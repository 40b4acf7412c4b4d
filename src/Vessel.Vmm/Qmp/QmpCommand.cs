using System.Text.Json.Nodes;

namespace Vessel.Vmm.Qmp;

/// <summary>The JSON types a QMP argument may have, named as QEMU's type errors name them.</summary>
internal enum QmpType
{
    /// <summary>A JSON string.</summary>
    String,

    /// <summary>A signed 64-bit integer (QAPI <c>int</c>).</summary>
    Integer,

    /// <summary>An unsigned 64-bit integer (QAPI <c>size</c>, <c>uint64</c>).</summary>
    Size,

    Boolean,

    /// <summary>An array of strings.</summary>
    StringList,

    /// <summary>An array of objects (checked further by the command).</summary>
    ObjectList,
}

/// <summary>One argument a command declares.</summary>
internal sealed record QmpParameter(string Name, QmpType Type, bool IsOptional)
{
    public static QmpParameter Required(string name, QmpType type) => new(name, type, false);

    public static QmpParameter Optional(string name, QmpType type) => new(name, type, true);
}

/// <summary>What a command runs with: the VM, the server's shared state and the client that asked.</summary>
internal sealed record QmpCommandContext(QmpServer Server, QmpSession Session)
{
    /// <summary>The VM the command acts on (read only when a command needs it: a standby VMM has none yet).</summary>
    public Runtime.VirtualMachine Vm => Server.Vm;
}

/// <summary>Runs a command whose arguments were checked against its declaration; returns the <c>return</c> value.</summary>
internal delegate JsonNode QmpCommandHandler(QmpCommandContext context, QmpArguments arguments);

/// <summary>A QMP command: its name, the arguments it takes and what it does.</summary>
internal sealed record QmpCommand(string Name, IReadOnlyList<QmpParameter> Parameters, QmpCommandHandler Handler)
{
    /// <summary>Checks <paramref name="arguments"/> as QEMU's generated visitors do: no unknown member, every required one, each of its type.</summary>
    /// <exception cref="QmpException">A member is unexpected, missing or of the wrong type, in QEMU's words.</exception>
    public QmpArguments Bind(JsonObject? arguments)
    {
        arguments ??= [];
        foreach ((string name, _) in arguments)
        {
            if (!Parameters.Any(parameter => parameter.Name == name))
            {
                throw QmpException.Generic($"Parameter '{name}' is unexpected");
            }
        }

        foreach (QmpParameter parameter in Parameters)
        {
            if (!arguments.TryGetPropertyValue(parameter.Name, out JsonNode? value))
            {
                if (!parameter.IsOptional)
                {
                    throw QmpException.Generic($"Parameter '{parameter.Name}' is missing");
                }

                continue;
            }

            if (!HasType(value, parameter.Type))
            {
                throw QmpException.Generic($"Invalid parameter type for '{parameter.Name}', expected: {TypeName(parameter.Type)}");
            }
        }

        return new QmpArguments(arguments);
    }

    private static bool HasType(JsonNode? value, QmpType type) => type switch
    {
        QmpType.String => value is JsonValue text && text.GetValueKind() == System.Text.Json.JsonValueKind.String,
        QmpType.Integer => value is JsonValue number && number.TryGetValue(out long _),
        QmpType.Size => value is JsonValue number && number.TryGetValue(out ulong _),
        QmpType.Boolean => value is JsonValue flag && flag.GetValueKind() is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False,
        QmpType.StringList => value is JsonArray list && list.All(item => HasType(item, QmpType.String)),
        QmpType.ObjectList => value is JsonArray list && list.All(item => item is JsonObject),
        _ => false,
    };

    private static string TypeName(QmpType type) => type switch
    {
        QmpType.String => "string",
        QmpType.Integer or QmpType.Size => "integer",
        QmpType.Boolean => "boolean",
        _ => "array",
    };
}

/// <summary>A command's arguments after <see cref="QmpCommand.Bind"/> checked them.</summary>
internal sealed class QmpArguments(JsonObject members)
{
    public bool Has(string name) => members.ContainsKey(name);

    public string GetString(string name) => members[name]!.GetValue<string>();

    public string? GetStringOrNull(string name) => Has(name) ? GetString(name) : null;

    public long GetInt64(string name) => members[name]!.GetValue<long>();

    public long? GetInt64OrNull(string name) => Has(name) ? GetInt64(name) : null;

    public ulong GetSize(string name) => members[name]!.GetValue<ulong>();

    public bool GetBoolean(string name, bool defaultValue) => Has(name) ? members[name]!.GetValue<bool>() : defaultValue;

    public IReadOnlyList<string>? GetStringListOrNull(string name) =>
        Has(name) ? members[name]!.AsArray().Select(item => item!.GetValue<string>()).ToArray() : null;

    public IReadOnlyList<JsonObject> GetObjectList(string name) =>
        Has(name) ? members[name]!.AsArray().Select(item => item!.AsObject()).ToArray() : [];
}
