"""The run matrix: cells (where x Go toolchain), shards for CI's job matrix, and merging
the cells' JSON back into one table."""
