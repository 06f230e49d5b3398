"""Sec. 5.2: one per-pair EPE/AAE loop, the Table 1-3 builders and the Fig. 4 selection."""
