// Placeholder: replaced by the communicator self-check.
