import sys

from htr.cli import main

sys.exit(main())
