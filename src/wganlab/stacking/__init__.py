"""Seeds trained together: S seeds of one variant as one stacked model in one process.

A small GAN leaves a GPU mostly idle (a width-16 DCGAN step is a few hundred kernel launches of microseconds), so
a GPU trains ten such seeds about as fast as one if they run as one network. Here:

- :mod:`~wganlab.stacking.layers` turns a network into its stacked form (grouped convolutions, batched matrix
  products, per-seed normalisation and spectral norm), parameters named as in the separate network;
- :mod:`~wganlab.stacking.axis` is how the ordinary training step reduces its losses per seed;
- :mod:`~wganlab.stacking.state` splits stacked states into ordinary ones and joins them back;
- :mod:`~wganlab.stacking.trainer` trains the stack while every seed keeps its own run directory, config,
  metrics, samples, evaluations and ordinary checkpoints (each seed can be sampled, evaluated or resumed alone).

Only what is exact is stacked: a config that asks for a part with no stacked form is refused by name
(:func:`~wganlab.stacking.trainer.stacking_refusal`) and its seeds run separately.
"""
