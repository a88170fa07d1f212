"""Historical averaging (Salimans et al. 2016, §3.3): its settings (:mod:`.settings`) and the hook (:mod:`.hook`)."""
