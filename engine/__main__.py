import sys

from mlready.engine.cli import main

sys.exit(main())
