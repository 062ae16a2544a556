namespace LayerChop.Engine; internal static class Placeholder {}
