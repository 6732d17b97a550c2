"""The built-in codec plugins, one module per backend; each imports its backend on first use."""
