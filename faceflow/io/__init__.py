"""Bytes <-> arrays, no torch: atomic writes, ``.flo`` files, images and videos, the data root and its datasets."""
