"""The classic GAN training techniques of the practical guide and Astroth's survey, one per module:
label targets, experience replay, minibatch discrimination, virtual batch norm, feature matching, historical
averaging. Each is switched on by the ``tricks`` (or ``model``) section of a config and composes with the others.
"""
