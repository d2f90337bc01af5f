"""Declarations of a Swift module, read from tree-sitter trees.

Used twice:
- on the generated `Countersign.swift`, keeping only `public`/`open`
  declarations (plus protocol requirements and enum cases, which carry no
  modifier): the API the hand-written code may use;
- on the hand-written files, keeping everything: what they declare (so a
  name declared by hand is not mistaken for a generated one, and so types
  of hand-written properties and functions help find generated-typed
  receivers).

Types are kept as normalised text (`[OtpCode]`, `AuthError?`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node

from .syntax import SwiftFile

TYPE_NODES = {
    "user_type",
    "optional_type",
    "array_type",
    "dictionary_type",
    "function_type",
    "tuple_type",
    "implicitly_unwrapped_type",
    "opaque_type",
    "existential_type",
    "metatype",
    "protocol_composition_type",
}

# UniFFI plumbing that is public for technical reasons but is not API.
_INTERNAL_PREFIXES = ("FfiConverter", "Uniffi", "uniffi", "RustBuffer", "ForeignBytes", "RustCallStatus")
_INTERNAL_MEMBERS = {"uniffiCloneHandle", "lift", "lower", "read", "write", "NoHandle"}
_MODULE_PREFIX = re.compile(r"\b(?:Countersign|Foundation|Swift)\.(?=[A-Z])")


def norm_type(text: str | None) -> str | None:
    """Canonical text of a type: no spaces, no `any`/`some`, no module
    prefix, `Optional<X>` → `X?`, `Array<X>` → `[X]`, `X!` → `X?`."""
    if text is None:
        return None
    t = re.sub(r"\b(any|some)\s+", "", text)
    t = re.sub(r"\s+", "", t)
    t = _MODULE_PREFIX.sub("", t)
    for _ in range(3):
        t = re.sub(r"Optional<([^<>]*)>", r"\1?", t)
        t = re.sub(r"Array<([^<>]*)>", r"[\1]", t)
    if t.endswith("!"):
        t = t[:-1] + "?"
    return t


def unwrap(t: str | None) -> str | None:
    """`X?` → `X` (repeatedly)."""
    while t and t.endswith("?"):
        t = t[:-1]
    return t


def element(t: str | None) -> str | None:
    """`[X]` → `X`; None for anything else (dictionaries included)."""
    t = unwrap(t)
    if not t or not (t.startswith("[") and t.endswith("]")):
        return None
    inner = t[1:-1]
    depth = 0
    for ch in inner:
        if ch in "[(<":
            depth += 1
        elif ch in "])>":
            depth -= 1
        elif ch == ":" and depth == 0:
            return None
    return inner


@dataclass
class Param:
    label: str  # external label; "_" when unlabeled
    name: str
    type: str | None
    has_default: bool = False


@dataclass
class Func:
    name: str
    params: list[Param]
    is_static: bool = False
    is_async: bool = False
    throws: bool = False
    returns: str | None = None
    path: str = ""
    line: int = 0

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.params)

    @property
    def signature(self) -> str:
        return f"{self.name}({''.join(label + ':' for label in self.labels)})"


@dataclass
class Case:
    name: str
    params: list[tuple[str | None, str | None]]  # (label, type)

    @property
    def signature(self) -> str:
        if not self.params:
            return self.name
        return f"{self.name}({''.join((label or '_') + ':' for label, _ in self.params)})"


@dataclass
class TypeDecl:
    name: str
    kind: str  # class, struct, enum, protocol, actor (extensions merge in)
    conforms: list[str] = field(default_factory=list)
    methods: dict[str, list[Func]] = field(default_factory=dict)
    inits: list[Func] = field(default_factory=list)
    fields: dict[str, str | None] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    decls: list[tuple[SwiftFile, Node]] = field(default_factory=list)

    def add_method(self, f: Func) -> None:
        self.methods.setdefault(f.name, []).append(f)

    def member_names(self) -> set[str]:
        return set(self.methods) | set(self.fields) | set(self.cases)


@dataclass
class Model:
    types: dict[str, TypeDecl] = field(default_factory=dict)
    functions: dict[str, list[Func]] = field(default_factory=dict)

    def type(self, name: str | None) -> TypeDecl | None:
        if not name:
            return None
        return self.types.get(name) or self.types.get(name.rsplit(".", 1)[-1])

    def all_members(self) -> set[str]:
        out: set[str] = set()
        for t in self.types.values():
            out |= t.member_names()
        return out


# ---------------------------------------------------------------------------


def _modifiers(f: SwiftFile, node: Node) -> set[str]:
    out: set[str] = set()
    for c in node.children:
        if c.type == "modifiers":
            for m in c.named_children:
                out.update(f.text(m).split())
    return out


def _is_public(f: SwiftFile, node: Node) -> bool:
    return bool(_modifiers(f, node) & {"public", "open"})


def _name_text(f: SwiftFile, node: Node) -> str:
    name = f.text(node)
    return name.strip("`")


def params_of(f: SwiftFile, decl: Node) -> list[Param]:
    out = []
    kids = decl.children
    for idx, p in enumerate(kids):
        if p.type != "parameter":
            continue
        has_default = idx + 1 < len(kids) and kids[idx + 1].type == "="
        external = p.child_by_field_name("external_name")
        names = [c for c in p.named_children if c.type == "simple_identifier" and c != external]
        types = [c for c in p.named_children if c.type in TYPE_NODES]
        internal = _name_text(f, names[0]) if names else "_"
        label = _name_text(f, external) if external is not None else internal
        out.append(Param(label, internal, norm_type(f.text(types[-1])) if types else None, has_default))
    return out


def _return_type(f: SwiftFile, decl: Node) -> str | None:
    seen_arrow = False
    for c in decl.children:
        if c.type == "->":
            seen_arrow = True
        elif seen_arrow and c.type in TYPE_NODES:
            return norm_type(f.text(c))
    return None


def func_of(f: SwiftFile, decl: Node) -> Func:
    name_node = decl.child_by_field_name("name")
    if decl.type == "init_declaration":
        name = "init"
    else:
        name = _name_text(f, name_node) if name_node is not None else "?"
    mods = _modifiers(f, decl)
    kinds = {c.type for c in decl.children}
    return Func(
        name=name,
        params=params_of(f, decl),
        is_static=bool(mods & {"static", "class"}),
        is_async="async" in kinds,
        throws="throws" in kinds,
        returns=_return_type(f, decl),
        path=f.path,
        line=decl.start_point[0] + 1,
    )


def bound_names(f: SwiftFile, pattern_parent: Node) -> list[str]:
    """Identifiers bound by a property declaration's pattern(s)."""
    out = []
    for c in pattern_parent.children:
        if c.type == "pattern":
            for b in _walk(c):
                if b.type == "simple_identifier" and b.parent is not None and (
                    b.parent.field_name_for_child(_index(b)) == "bound_identifier"
                ):
                    out.append(f.text(b))
    return out


def _index(node: Node) -> int:
    parent = node.parent
    for i, c in enumerate(parent.children):
        if c.id == node.id:
            return i
    return -1


def _walk(node: Node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def annotation_type(f: SwiftFile, decl: Node) -> str | None:
    for c in decl.children:
        if c.type == "type_annotation":
            types = [t for t in c.named_children if t.type in TYPE_NODES]
            if types:
                return norm_type(f.text(types[-1]))
    return None


def _type_decl_name(f: SwiftFile, decl: Node) -> str:
    name = decl.child_by_field_name("name")
    return f.text(name).strip() if name is not None else "?"


def _decl_kind(f: SwiftFile, decl: Node) -> str:
    kind = decl.child_by_field_name("declaration_kind")
    if kind is not None:
        return f.text(kind)
    return "protocol" if decl.type == "protocol_declaration" else "class"


def conformances(f: SwiftFile, decl: Node) -> list[str]:
    out = []
    for c in decl.children:
        if c.type == "inheritance_specifier":
            t = [x for x in c.named_children if x.type in TYPE_NODES]
            if t:
                out.append(norm_type(f.text(t[-1])))
    return out


def read_declarations(files: list[SwiftFile], public_only: bool, into: Model | None = None) -> Model:
    model = into or Model()
    for f in files:
        _read_nodes(f, f.root.children, model, public_only, top=True)
    if public_only:
        # `extension NSLock`, `extension Data`: helpers on foreign types, not API.
        for name in [n for n, t in model.types.items() if t.kind == "extension"]:
            del model.types[name]
    return model


def _read_nodes(f: SwiftFile, nodes: list[Node], model: Model, public_only: bool, top: bool) -> None:
    for node in nodes:
        t = node.type
        if t in ("class_declaration", "protocol_declaration"):
            _read_type(f, node, model, public_only)
        elif t == "function_declaration" and top:
            if public_only and not _is_public(f, node):
                continue
            fn = func_of(f, node)
            if public_only and fn.name.startswith(_INTERNAL_PREFIXES):
                continue
            model.functions.setdefault(fn.name, []).append(fn)


def _read_type(f: SwiftFile, node: Node, model: Model, public_only: bool) -> None:
    kind = _decl_kind(f, node)
    if public_only and kind != "extension" and not _is_public(f, node):
        return
    full = _type_decl_name(f, node)
    # Nested types and `extension A.B` are registered by their simple name.
    name = full.rsplit(".", 1)[-1]
    if public_only and name.startswith(_INTERNAL_PREFIXES):
        return
    decl = model.types.get(name)
    if decl is None:
        decl = TypeDecl(name, kind)
        model.types[name] = decl
    elif kind != "extension":
        decl.kind = kind
    decl.conforms.extend(conformances(f, node))
    decl.decls.append((f, node))
    body = node.child_by_field_name("body")
    if body is not None:
        _read_body(f, body, decl, model, public_only, protocol=(kind == "protocol"))


def _read_body(f: SwiftFile, body: Node, decl: TypeDecl, model: Model, public_only: bool, protocol: bool) -> None:
    for m in body.children:
        t = m.type
        if t in ("function_declaration", "protocol_function_declaration"):
            if public_only and not protocol and not _is_public(f, m):
                continue
            fn = func_of(f, m)
            if public_only and fn.name in _INTERNAL_MEMBERS:
                continue
            decl.add_method(fn)
        elif t == "init_declaration":
            if public_only and not protocol and not _is_public(f, m):
                continue
            fn = func_of(f, m)
            if public_only and any(p.label in ("unsafeFromHandle", "noHandle") for p in fn.params):
                continue
            decl.inits.append(fn)
        elif t in ("property_declaration", "protocol_property_declaration"):
            if public_only and not protocol and not _is_public(f, m):
                continue
            typ = annotation_type(f, m)
            if t == "protocol_property_declaration":
                names = [f.text(b) for b in _walk(m) if b.type == "simple_identifier"][:1]
            else:
                names = bound_names(f, m)
            for n in names:
                if public_only and n in _INTERNAL_MEMBERS:
                    continue
                decl.fields[n] = typ
        elif t == "enum_entry":
            _read_enum_entry(f, m, decl)
        elif t in ("class_declaration", "protocol_declaration"):
            _read_type(f, m, model, public_only)


def _read_enum_entry(f: SwiftFile, entry: Node, decl: TypeDecl) -> None:
    """`case a, b(x: T)`: names are `name` fields; associated values follow
    their name as an `enum_type_parameters` node."""
    current: Case | None = None
    for i, c in enumerate(entry.children):
        fname = entry.field_name_for_child(i)
        if fname == "name" and c.type == "simple_identifier":
            current = Case(_name_text(f, c), [])
            decl.cases[current.name] = current
        elif c.type == "enum_type_parameters" and current is not None:
            current.params = _enum_params(f, c)


def _enum_params(f: SwiftFile, node: Node) -> list[tuple[str | None, str | None]]:
    out: list[tuple[str | None, str | None]] = []
    label: str | None = None
    for c in node.children:
        if c.type == "simple_identifier":
            label = _name_text(f, c)
        elif c.type in TYPE_NODES:
            out.append((label if label not in (None, "_") else None, norm_type(f.text(c))))
            label = None
    return out
