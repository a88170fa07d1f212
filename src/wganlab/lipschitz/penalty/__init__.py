"""The gradient penalty (Gulrajani et al. 2017): its settings (:mod:`.settings`) and the hook (:mod:`.hook`)."""
