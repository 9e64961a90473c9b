"""``aicmo.cam.operator_services``: the seed's file map names the service layer here, its
examples import it as ``aicmo.operator_services``. Both names are the same module, and so
are its submodules (``aicmo.cam.operator_services.outreach`` is
``aicmo.operator_services.outreach``), so there is one set of functions and classes.

Importing this name registers the real modules under it; the star import only tells
type checkers which names it has.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import aicmo.operator_services as _real
from aicmo.operator_services import *  # noqa: F403

for _sub in pkgutil.walk_packages(_real.__path__, prefix=f"{_real.__name__}."):
    _alias = __name__ + _sub.name.removeprefix(_real.__name__)
    sys.modules[_alias] = importlib.import_module(_sub.name)
# The import system hands out what sys.modules holds once this module has run.
sys.modules[__name__] = _real
