// Replaced by the report code.
