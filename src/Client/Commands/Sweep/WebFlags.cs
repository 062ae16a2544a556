using System.CommandLine;
using LayerChop.Silo;
using LayerChop.Silo.Storage;
using LayerChop.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LayerChop.Client.Commands;

/// <summary>The `--web` options of `sweep run` and `silo`, and the line that says where to look.</summary>
static class Web
{
    public static Option<int?> PortOption() => new("--web") { Description = "Serve the live sweep pages (/sweeps/NAME), the sweep API (/api/sweeps) and the Orleans dashboard (/dashboard) on this port, on loopback unless --web-bind says otherwise" };

    public static Option<string> BindOption() => new("--web-bind") { Description = "Address the --web port listens on (default 127.0.0.1: this host only)", DefaultValueFactory = _ => "127.0.0.1" };

    public static Silo.Web.WebOptions? Options(int? port, string? bind)
    {
        if (port is null) return null;
        bind ??= "127.0.0.1";
        return Silo.Web.WebOptions.Checked(port.Value, bind, $"--web {port}", $"--web-bind {bind}");
    }

    public static string Describe(Silo.Web.WebOptions web, string? sweep) =>
        $"web: {web.Url}/sweeps/{sweep ?? "NAME"} ({(sweep is null ? "the live page of sweep NAME" : "the live sweep page")}), {web.Url}/api/sweeps{(sweep is null ? "" : "/" + sweep)} (the sweep API), {web.Url}/dashboard/ (the Orleans dashboard)";
}
