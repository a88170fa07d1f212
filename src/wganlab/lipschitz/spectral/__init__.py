"""Spectral normalization (Miyato et al. 2018): its settings (:mod:`.settings`) and the parametrization
applied when the critic is built (:mod:`.norm`)."""
