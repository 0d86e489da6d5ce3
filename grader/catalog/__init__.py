"""The catalog: the assignments the grader knows (specs, references, instances, lint)."""
