"""Facts about any flow field: metrics, colour coding and panels, strain, affine fits, warps, generated motions."""
