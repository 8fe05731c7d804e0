// Replaced by the plotting tests.
