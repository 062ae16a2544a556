namespace LayerChop.Silo;
