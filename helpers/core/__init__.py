"""The core every chapter builds on.

=============  ===============================================================
``profile``    ``HF_PROFILE`` (smoke / book / full) and the sizes it picks
``interface``  the common model interface (trainable model, classifier,
               disentangling model) and NumPy conveniences
``blocks``     network building blocks (MLPs, convolutional encoders/decoders)
``losses``     generic loss terms (reconstruction, cross-entropy, KL)
``training``   the one way of training: seeded ``fit`` with one progress line
=============  ===============================================================
"""
