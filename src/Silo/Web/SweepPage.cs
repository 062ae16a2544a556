using System.Net;
using LayerChop.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LayerChop.Silo.Web;

/// <summary>
/// The live sweep page of a silo's web host: GET /sweeps/NAME serves one HTML page that polls the sweep API
/// (<see cref="SweepApi"/>) every second and draws the Pareto plot, the candidates and their healing loss curves.
/// Its script and style sheet (Web/Page/) ship inside this assembly and are served from memory under /assets/.
/// An unknown sweep is an HTML page with status 404.
/// </summary>
public static class SweepPage
{
    const string Prefix = "LayerChop.Page/";

    static readonly Dictionary<string, string> ContentTypes = new()
    {
        [".html"] = "text/html; charset=utf-8", [".css"] = "text/css; charset=utf-8", [".js"] = "text/javascript; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    /// <summary>Every embedded page file by name (sweep.html, sweep.js, ...), read once.</summary>
    static readonly Dictionary<string, byte[]> Files = LoadFiles();

    public static void MapSweepPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/sweeps/{name}", async (string name, IGrainFactory grains) =>
            await grains.GetGrain<ISweepGrain>(name).GetSpec() is null
                ? Html(404, Page("not-found.html", name))
                : Html(200, Page("sweep.html", name)));
        app.MapGet("/assets/{file}", (string file) =>
            Files.TryGetValue(file, out var bytes) && file != "sweep.html" && file != "not-found.html"
                ? Results.Bytes(bytes, ContentType(file))
                : Results.Text("no such asset", "text/plain", statusCode: 404));
    }

    /// <summary>An HTML file with the sweep's name (HTML-escaped) in place of {{sweep}}.</summary>
    static string Page(string file, string sweep) =>
        System.Text.Encoding.UTF8.GetString(Files[file]).Replace("{{sweep}}", WebUtility.HtmlEncode(sweep));

    static IResult Html(int status, string html) => Results.Text(html, "text/html; charset=utf-8", statusCode: status);

    static string ContentType(string file) => ContentTypes.GetValueOrDefault(Path.GetExtension(file), "application/octet-stream");

    static Dictionary<string, byte[]> LoadFiles()
    {
        var assembly = typeof(SweepPage).Assembly;
        var files = new Dictionary<string, byte[]>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            files[resource[Prefix.Length..]] = memory.ToArray();
        }
        return files;
    }
}
