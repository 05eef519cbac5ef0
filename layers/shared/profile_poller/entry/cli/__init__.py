"""`profile-poller`: the producer's and the operator's command line (docs/operations.md), in commands.py.

The package only re-exports `main` (the console script's entry point): mutmut 3 misreports the mutants of a
package's `__init__.py` in a full run (docs/reliability.md, "Third pass").
"""

from .commands import main

__all__ = ["main"]
