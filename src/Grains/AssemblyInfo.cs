namespace LayerChop.Grains;
