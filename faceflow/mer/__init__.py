"""Sec. 4.4 / 5.3: micro-expression readers, STSTNet, features, LOSO training, Eq. 12 metrics, Tables 5-6."""
