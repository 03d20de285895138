"""Studies: arms of this repository's recipes trained under equal wall-clock budgets and scored alike, with the
claims they test declared next to the arms in each study's YAML. The shared base: resumable stage records
(``stages``), interleaved calibration and budgets (``budget``), overrides as key=value lines (``overrides``), held-out
scoring (``evaluation``), claims (``claims``), reports (``reporting``), the expected warnings and the command line.
Each study is a package on it: ``quality/`` (``studies/quality.py``, docs/benchmarks/quality.md) and
``long_context/`` (``studies/long_context.py``, docs/benchmarks/long-context.md).
"""
