"""Weight clipping (Arjovsky et al. 2017): its settings (:mod:`.settings`) and the hook (:mod:`.hook`)."""
