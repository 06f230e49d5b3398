"""Chapter 01's studies: the generated ground truth, its cost, its figures and its error tables."""
