"""Training data: the data section of a config (:mod:`wganlab.data.settings`, no torch) and the sources that turn
it into batches (:func:`wganlab.data.sources.make_source`), one module per kind of data."""
