"""dicomframe's debug messages, sent only once the program has set logging up.

Importing :mod:`logging` costs a fresh process 6-9 ms (it brings ``traceback``,
``string``, ``threading`` and more), and the ``dicomframe`` command otherwise
never needs it. A debug message (which codec verified a frame, how frames were
spread over workers) can only be seen through a handler, and a program that
installs one has imported logging: until then there is no one to tell, so
:func:`debug` does nothing.
"""

from __future__ import annotations

import sys

__all__ = ["debug"]


def debug(logger: str, message: str, *args: object) -> None:
    """Log ``message % args`` at DEBUG level on ``logger``, if logging is in use."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(logger).debug(message, *args)
