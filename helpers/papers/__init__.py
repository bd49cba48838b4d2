"""The chapters' own code, exported from their notebooks — do not edit these files.

Each module here is written by ``python tools/export_papers.py`` from the
``#| export`` cells of one chapter notebook (``chapters/01_xcov.ipynb`` ->
``xcov.py``).  The notebook is the one source of truth: change a cell there
and run the command again; ``tests/test_export.py`` fails when the two differ.
"""
