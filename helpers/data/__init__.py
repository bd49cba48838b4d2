"""Data for the course: MNIST, SVHN (and its offline stand-in), checks and subsets.

=============  =============================================================================
``datasets``   :class:`Dataset` (with its ``provenance``), input checks, reproducible subsets
``downloads``  checksummed, atomic downloads under one deadline and a size cap; the cache
``mnist``      :func:`load_mnist` (data directory, cache, download, fallback)
``svhn``       :func:`load_svhn` and the house-number stand-in
=============  =============================================================================
"""

from .datasets import (
    Dataset,
    OfflineFallbackWarning,
    balanced_indices,
    balanced_subset,
    check_images,
    check_labels,
    stratified_indices,
    subset,
)
from .mnist import load_mnist, load_mnist_for_profile
from .svhn import load_svhn, normalise_contrast, render_standin

__all__ = [
    "Dataset", "OfflineFallbackWarning", "balanced_indices", "balanced_subset", "check_images",
    "check_labels", "load_mnist", "load_mnist_for_profile", "load_svhn", "normalise_contrast",
    "render_standin", "stratified_indices", "subset",
]
