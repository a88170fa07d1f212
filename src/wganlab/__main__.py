"""``python -m wganlab`` (also what ``torchrun -m wganlab`` starts)."""

from wganlab.cli import main

raise SystemExit(main())
