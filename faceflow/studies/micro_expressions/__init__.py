"""Chapter 05's studies: the micro-expression tables and figures."""
