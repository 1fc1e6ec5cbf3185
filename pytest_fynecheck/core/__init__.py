"""Layer: data, processes and where commands run."""
