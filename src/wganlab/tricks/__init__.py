"""The classic GAN training techniques of seed 001 (the practical guide) and seed 003 (the survey), one per module:
label targets, experience replay, minibatch discrimination, virtual batch norm, feature matching, historical
averaging. Each is switched on by the ``tricks`` (or ``model``) section of a config and composes with the others.
"""
