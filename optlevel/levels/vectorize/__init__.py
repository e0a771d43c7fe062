"""Level 1: vectorization and memory-layout checks, and safe loop→array rewrites."""
