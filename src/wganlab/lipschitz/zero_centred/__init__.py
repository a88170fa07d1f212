"""R1 and R2 (Mescheder et al. 2018; R3GAN): their settings (:mod:`.settings`) and hooks (:mod:`.hook`)."""
