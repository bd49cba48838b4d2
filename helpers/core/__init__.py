"""The core every chapter builds on.

=============  ===============================================================
``profile``    ``HF_PROFILE`` (smoke / book / full) and the sizes it picks;
               ``check_seed`` and ``check_count`` for whole-number arguments
``interface``  the common model interface (trainable model, classifier,
               disentangling model), NumPy conveniences and the checks of
               their arguments (models, images, labels, codes)
``blocks``     network building blocks (MLPs, convolutional encoders/decoders)
``losses``     generic loss terms (reconstruction, cross-entropy, KL)
``training``   the one way of training: seeded ``fit`` with one progress line
=============  ===============================================================
"""
