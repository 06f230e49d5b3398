"""``python -m faceflow.cli ...``: the same as the ``faceflow`` command."""

import sys

from faceflow.cli.main import main

sys.exit(main())
