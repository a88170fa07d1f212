"""Label smoothing and noisy labels (Salimans et al. 2016; the practical guide, §4.1 and §4.5): their settings
(:mod:`.settings`) and the hook (:mod:`.hook`)."""
