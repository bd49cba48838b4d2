"""Measuring a model: probes, swaps, the scorecard, and results tables.

=============  ===============================================================
``metrics``    probes on frozen codes, swap measurements, :func:`scorecard`
               and the course's one vocabulary of result names (``COLUMNS``)
``tables``     Markdown results tables in that vocabulary
=============  ===============================================================
"""
