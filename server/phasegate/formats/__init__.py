"""Report formats of ``phasegate validate`` beyond text, JSON and SARIF.

* :mod:`phasegate.formats.gitlab` — ``--format gitlab``: a GitLab Code Quality report
  (``artifacts:reports:codequality``), shown in merge requests.
* :mod:`phasegate.formats.junit` — ``--format junit``: JUnit XML, one test suite per
  phase and one test case per check, for the test report views of CI services.

Both are built from the same :class:`phasegate.model.GateResult` list as the other
formats; neither runs anything.
"""
