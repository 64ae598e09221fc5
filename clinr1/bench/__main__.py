"""``python -m clinr1.bench``: one engine's measurement (see :mod:`clinr1.bench.measure`)."""

import sys

from clinr1.bench.measure import main

sys.exit(main())
