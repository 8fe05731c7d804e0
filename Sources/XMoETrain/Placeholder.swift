// Placeholder: replaced by the training engine.
