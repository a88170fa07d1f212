"""The generator's moving average (Karras et al. 2018): its settings (:mod:`.settings`) and the hook (:mod:`.hook`)."""
