using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("LayerChop.Engine.Tests")]
