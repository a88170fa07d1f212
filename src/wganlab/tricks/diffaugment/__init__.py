"""DiffAugment (Zhao et al. 2020): its settings (:mod:`.settings`) and the hook (:mod:`.hook`)."""
