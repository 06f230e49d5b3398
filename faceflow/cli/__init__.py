"""The ``faceflow`` command line: one module per command."""
