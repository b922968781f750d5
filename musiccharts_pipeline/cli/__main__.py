"""`python -m musiccharts_pipeline.cli`: the command."""

import sys

from musiccharts_pipeline.cli import main

sys.exit(main())
