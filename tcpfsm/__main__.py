"""``python -m tcpfsm``: the same as the ``tcpfsm`` command."""

import sys

from tcpfsm.cli import main

sys.exit(main())
