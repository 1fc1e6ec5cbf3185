"""Layer: options, typed settings and the run plan."""
