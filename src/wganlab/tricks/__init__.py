"""The classic GAN training techniques of the practical guide and Astroth's survey, and DiffAugment, one package
each (its ``settings.py`` without torch, beside the hook or layer): label targets, experience replay, minibatch
discrimination, feature matching, historical averaging, the generator's moving average; virtual batch norm
(``vbn.py``) is a layer the model section asks for. Each is switched on by the ``tricks`` (or ``model``) section of a
config and composes with the others.
"""
