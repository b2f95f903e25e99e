"""The analyst's toolbox: region growing, spectral indices, map clean-up,
sample-based area estimates, sample designs, change between dates and
unsupervised clusters. Formulas and rules: docs/analysis.md.
"""
