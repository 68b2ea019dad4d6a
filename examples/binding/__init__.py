"""SpritzBinding: a durable identity that owns a disposable runtime (a Spritz) and replaces it
safely — candidate first, cutover in one status write, cleanup after. See
`docs/examples/binding.md`."""
