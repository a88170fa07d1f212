"""Minibatch discrimination (Salimans et al. 2016, §3.2): its settings (:mod:`.settings`) and the layer
(:mod:`.layer`)."""
