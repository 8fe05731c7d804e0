// Replaced by the plotting code.
