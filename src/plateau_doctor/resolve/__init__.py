"""Resolve: what the run was configured with (defaults, files, the log's echo, overrides) and
the facts that follow from it (tokens, parameters, epochs, learning rate)."""
