"""Sec. 4.3: losses, the named experiments, torch datasets, checkpoints and the training loop."""
