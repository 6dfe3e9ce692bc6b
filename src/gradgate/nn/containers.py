"""Containers that hold sub-modules by position or by name, as ``torch.nn``'s do: their
parameters are named ``"0.weight"`` (ModuleList) or ``"encoder.weight"`` (ModuleDict)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .module import Module


def _checked(module: Any, what: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{what}: a {type(module).__name__} is not a Module")
    return module


class ModuleList(Module):
    """A list of modules; it has no forward of its own (iterate over it)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.items = [_checked(m, "ModuleList") for m in modules]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, module in enumerate(self.items):
            yield str(i), module

    def append(self, module: Module) -> ModuleList:
        self.items.append(_checked(module, "ModuleList.append"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        self.items.insert(index, _checked(module, "ModuleList.insert"))

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return ModuleList(self.items[index])
        return self.items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self.items[index] = _checked(module, "ModuleList")

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.items)


class ModuleDict(Module):
    """Modules by name, in insertion order; it has no forward of its own."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] = ()) -> None:
        super().__init__()
        self.entries: dict[str, Module] = {}
        self.update(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self.entries.items()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for name, module in pairs:
            self[name] = module

    def __setitem__(self, name: str, module: Module) -> None:
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"ModuleDict: a name is a non-empty string without dots, got {name!r}")
        self.entries[name] = _checked(module, "ModuleDict")

    def __getitem__(self, name: str) -> Module:
        return self.entries[name]

    def __delitem__(self, name: str) -> None:
        del self.entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def keys(self) -> Any:
        return self.entries.keys()

    def values(self) -> Any:
        return self.entries.values()

    def items(self) -> Any:
        return self.entries.items()
