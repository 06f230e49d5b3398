"""The book's chapter studies: what only the chapters need, one module (or small package) per chapter.

The library folders (``io``, ``flow``, ``groundtruth``, ``methods``, ``training``, ``evaluation``,
``mer``) hold what a researcher calls without the book; the studies put it together into the
chapters' tables, figures and sentences. No library folder imports this package.

======================  ============================================================
module                  chapter
======================  ============================================================
``tour``                00, the data tour
``ground_truth``        01, the ground truth (and its figures, reused by 00)
``flownets``            02, FlowNetS on faces (training diagnostics)
``ablations``           03, the loss ablations (training variants)
``baselines``           04, the baselines (fine-tuning, comparison methods)
``micro_expressions``   05, micro-expression recognition
``plans``               the chapters' training plans (02, 03, 04), shared
``flow_figures``        flow figures shared by 02, 03 and 04
======================  ============================================================
"""
