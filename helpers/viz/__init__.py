"""Seeing a model: figures and interactive explorers (all via the common interface).

=============  ===============================================================
``plots``      image grids, training curves, latent scatter, swaps, traversals
``widgets``    ipywidgets explorers (each has a static twin in ``plots``)
``domains``    figures and an explorer for two domains of different shapes
=============  ===============================================================
"""
