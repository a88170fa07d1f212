"""Experience replay and the image pool (the practical guide, §4.2; Shrivastava et al. 2017): their settings
(:mod:`.settings`) and hooks (:mod:`.hook`)."""
