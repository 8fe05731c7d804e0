// Replaced by the report tests.
