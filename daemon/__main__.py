"""``python -m daemon`` is ``ffn-sync``."""

from daemon.cli import main

raise SystemExit(main())
