"""faceflow: reproducible companion to Alkaddour, Tariq & Dhall (IEEE TAFFC 2022),
"Self-Supervised Approach for Facial Movement Based Optical Flow".

Sub-modules are imported lazily by the user; importing :mod:`faceflow` itself is cheap.
"""

__version__ = "0.1.0"
