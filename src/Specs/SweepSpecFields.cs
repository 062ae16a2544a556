using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;

namespace LayerChop.Specs;

/// <summary>
/// One field of a spec as the file spells it: the snake_case name of a record property that has an Orleans
/// [Id], in [Id] order. A property whose type is itself a contract record is a section (eval, grid, train,
/// latency) with fields of its own. The reader, the writer and <see cref="SweepSpecDiff"/> all walk these, so a
/// member added to <see cref="SweepSpec"/> or a settings record is a spec field with nothing else to edit.
/// </summary>
internal sealed record SpecField(string Name, PropertyInfo Property, bool Required)
{
    public Type Type => Property.PropertyType;

    /// <summary>The section's fields; null for a plain field.</summary>
    public IReadOnlyList<SpecField>? Fields => SweepSpecFields.IsSection(Type) ? SweepSpecFields.Of(Type) : null;

    public object? ValueIn(object record) => Property.GetValue(record);
}

internal static class SweepSpecFields
{
    static readonly ConcurrentDictionary<Type, IReadOnlyList<SpecField>> Cache = new();

    public static IReadOnlyList<SpecField> Top => Of(typeof(SweepSpec));

    public static IReadOnlyList<SpecField> Of(Type record) => Cache.GetOrAdd(record, type =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Property: p, Id: p.GetCustomAttribute<IdAttribute>()))
            .Where(p => p.Id is not null)
            .OrderBy(p => p.Id!.Id)
            .Select(p => new SpecField(SnakeCase(p.Property.Name), p.Property, p.Property.GetCustomAttribute<RequiredAttribute>() is not null))
            .ToList());

    public static bool IsSection(Type type) =>
        type.IsClass && type != typeof(string) && type.GetCustomAttribute<GenerateSerializerAttribute>() is not null;

    /// <summary>Every section by its path ("" for the top), with its fields' names.</summary>
    public static IReadOnlyList<(string Path, IReadOnlyList<string> Names)> Sections { get; } =
    [
        ("", Names(Top)),
        .. Top.Where(f => f.Fields is not null).Select(f => (f.Name, Names(f.Fields!))),
    ];

    public static IReadOnlyList<string> Names(IReadOnlyList<SpecField> fields) => fields.Select(f => f.Name).ToList();

    public static string SnakeCase(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);

    /// <summary>An enum value as a spec writes it (cpu, final).</summary>
    public static string EnumText(Enum value) => SnakeCase(value.ToString());
}
