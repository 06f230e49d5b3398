"""Sec. 3: landmarks, the triangle-mesh maps, the dataset writer and the subject-disjoint splits."""
