"""Ways to keep a WGAN critic (approximately) 1-Lipschitz, one package each: weight clipping, the gradient penalty,
R1/R2 and DRAGAN are hooks of the training step (:mod:`wganlab.training.hooks`), spectral normalization a step of
the network build, lazy regularization a schedule the penalties share. Each package's ``settings.py`` holds the
part's settings and their rules (no torch), beside the part itself (``hook.py``, or ``norm.py``).
"""
