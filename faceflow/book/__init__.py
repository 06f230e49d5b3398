"""The notebook -> book build and the chapter helpers: the only layer that knows about notebooks."""
