"""``python -m search.cli``: the ``optsearch`` command."""

import sys

from search.cli import main

sys.exit(main())
