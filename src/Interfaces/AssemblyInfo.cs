namespace LayerChop.Interfaces;
