"""The generator and the discriminator: the model section of a config (:mod:`wganlab.nets.settings`, no torch),
the builder (:func:`wganlab.nets.build.build_networks`) and one module per family of networks."""
