"""Feature matching (Salimans et al. 2016, §3.1): its settings (:mod:`.settings`) and the hook (:mod:`.hook`)."""
