"""The parts the UI uses that may not be installed yet (printing, sync): found at call time.

Each accessor returns the module or None; the screens then say in Chinese what is missing instead
of failing with an import error.
"""

from __future__ import annotations

import importlib
from types import ModuleType

NO_PRINTING = "打印功能尚未安装（缺少 station.printing），请联系技术支持"
NO_SYNC = "同步功能尚未安装（缺少 sync.service），请联系技术支持"
NO_USB = "U盘导入导出功能尚未安装（缺少 sync.usb），请联系技术支持"


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None  # the module itself is absent, not one of its imports
        raise


def printing() -> ModuleType | None:
    mod = _module("station.printing")
    return mod if mod is not None and hasattr(mod, "print_case_document") else None


def sync_service() -> ModuleType | None:
    mod = _module("sync.service")
    return mod if mod is not None and hasattr(mod, "sync_now") else None


def sync_usb() -> ModuleType | None:
    mod = _module("sync.usb")
    return mod if mod is not None and (hasattr(mod, "export_to") or hasattr(mod, "export")) else None


def usb_export(mod: ModuleType):  # type: ignore[no-untyped-def]
    return getattr(mod, "export_to", None) or getattr(mod, "export")


def usb_import(mod: ModuleType):  # type: ignore[no-untyped-def]
    return getattr(mod, "import_from", None) or getattr(mod, "import_")
