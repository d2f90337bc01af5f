"""Cross-checks hand-written Swift against the generated bindings' API.

What is checked (each on the tree-sitter AST):

(a) Conformance. A hand-written type (class, struct, extension) that lists
    a generated protocol (`PlatformKeystore`, `Clock`, `CodeListener`, …)
    must declare every requirement, across all of its extensions, with the
    same name and argument labels, the same parameter and return types
    (compared as normalised text), and no `throws`/`async` the requirement
    lacks.

(b) Calls and members of the generated API:
    - `Type.member(...)` on a generated type (`Authenticator.open(path:…)`,
      `AuthError.InvalidInput(reason:)`, `ProfileDraft(...)`): the static
      member, enum case or initializer must exist with those labels;
    - `value.method(...)` / `value.field` where `value`'s type is known to
      be a generated type: the member must exist, labels must match. Types
      are inferred, without scopes beyond functions/closures/blocks, from
      annotations, parameters, `let x = <expr>`, `if/guard let`, `for in`,
      `catch let e as T`, and the return types of generated and
      hand-written functions;
    - a call of a distinctive (camelCase) generated method name on a
      receiver of unknown type, when no hand-written code declares that
      name: labels must match one generated overload;
    - free functions (`ffiPanicProbe()`): labels; an unknown name very close
      to a generated function is reported as a likely misspelling;
    - `.case(...)` implicit members where the expected type is a generated
      enum (call arguments, `return`, `==`, `XCTAssertEqual`, assignments).

(c) Patterns on generated enums (`catch AuthError.X(...)`, `case .X(...)`,
    `if case` / `guard case`): the case must exist; associated-value
    labels and counts must match. The enum comes from the qualifier, the
    switch subject's type, or — if that is unknown — from the other cases
    of the same switch. A `switch` over a generated enum without `default`
    must name every case.

Not checked (the Swift compiler on a Mac does that): argument *types* of
calls, generic code, overloads of hand-written functions, availability,
actor isolation and Sendable, anything reached only through closures'
`$0`, or through values whose type cannot be inferred as above.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass

from tree_sitter import Node

from .model import (
    TYPE_NODES,
    Func,
    Model,
    TypeDecl,
    element,
    func_of,
    norm_type,
    unwrap,
)
from .syntax import Issue, SwiftFile

UNIVERSAL_MEMBERS = {
    "self",
    "hash",
    "hashValue",
    "localizedDescription",
    "errorDescription",
    "debugDescription",
    "description",
    "map",
    "flatMap",
    "init",
}
SCOPE_NODES = {
    "source_file",
    "function_declaration",
    "init_declaration",
    "lambda_literal",
    "class_body",
    "enum_class_body",
    "protocol_body",
    "computed_property",
    "computed_getter",
    "computed_setter",
    "if_statement",
    "for_statement",
    "catch_block",
    "switch_entry",
    "while_statement",
}
VOID = {None, "Void", "()"}
# Array methods whose closure receives one element as `$0`.
ARRAY_CLOSURE_METHODS = {
    "map", "compactMap", "flatMap", "filter", "first", "last", "contains", "allSatisfy",
    "forEach", "firstIndex", "lastIndex", "sorted", "min", "max", "drop", "prefix", "partition",
}
# Parents under which a simple_identifier is not a value being read.
NOT_EXPRESSION_PARENTS = {
    "navigation_suffix", "value_argument_label", "pattern", "parameter", "lambda_parameter",
    "enum_entry", "function_declaration", "protocol_function_declaration", "prefix_expression",
    "import_declaration", "identifier", "class_declaration", "value_binding_pattern",
    "property_declaration", "switch_pattern", "enum_type_parameters", "capture_list_item",
    "type_annotation", "user_type", "attribute", "tuple_type_item", "key_path_expression",
}


@dataclass
class Binding:
    scope: int  # node id of the scope
    start: int  # byte offset from which it is visible
    type: str | None


def _walk(node: Node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _ancestors(node: Node):
    n = node.parent
    while n is not None:
        yield n
        n = n.parent


def _did_you_mean(name: str, options) -> str:
    close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _labels_text(labels) -> str:
    return "".join(f"{label}:" for label in labels)


class Checker:
    def __init__(self, api: Model, hand: Model):
        self.api = api
        self.hand = hand
        self.gen_enums = {n for n, t in api.types.items() if t.kind == "enum"}
        self.gen_protocols = {n for n, t in api.types.items() if t.kind == "protocol"}
        self.gen_classes = {n for n, t in api.types.items() if t.kind == "class"}
        # Names the hand-written code declares itself (types that are not
        # mere extensions of generated ones, functions, members, cases).
        self.hand_types = {
            n for n, t in hand.types.items() if not (t.kind == "extension" and n in api.types)
        }
        self.hand_members = hand.all_members() | set(hand.functions)
        self.hand_cases = {c for t in hand.types.values() for c in t.cases}
        self.gen_method_names: dict[str, list[Func]] = {}
        for t in api.types.values():
            for name, fs in t.methods.items():
                self.gen_method_names.setdefault(name, []).extend(fs)

    # -- entry ---------------------------------------------------------------

    def check_file(self, f: SwiftFile) -> list[Issue]:
        self.f = f
        self.issues: list[Issue] = []
        self.stats: Counter = Counter()
        self._bindings: dict[str, list[Binding]] = {}
        self._collect_bindings(f.root)
        self._check_conformances()
        self._check_extension_identifiers()
        for node in _walk(f.root):
            t = node.type
            if t == "call_expression":
                self._check_call(node)
            elif t == "navigation_expression":
                self._check_member_access(node)
            elif t == "prefix_expression":
                self._check_implicit_member(node)
            elif t == "pattern":
                self._check_pattern_node(node)
            elif t in ("if_statement", "guard_statement"):
                self._check_condition_patterns(node)
            elif t == "switch_statement":
                self._check_switch(node)
        # One message per position and text.
        seen = set()
        out = []
        for i in self.issues:
            key = (i.line, i.col, i.message)
            if key not in seen:
                seen.add(key)
                out.append(i)
        return sorted(out, key=lambda i: (i.line, i.col))

    def _issue(self, node: Node, message: str) -> None:
        self.issues.append(self.f.issue(node, message))

    # -- generated model helpers ----------------------------------------------

    def _gen(self, name: str | None) -> TypeDecl | None:
        if not name or name in self.hand_types:
            return None
        return self.api.types.get(name)

    def _hand_ext_members(self, name: str) -> set[str]:
        t = self.hand.types.get(name)
        return t.member_names() if t is not None else set()

    def _methods(self, decl: TypeDecl, name: str) -> list[Func]:
        out = list(decl.methods.get(name, []))
        for proto in decl.conforms:
            p = self.api.types.get(proto)
            if p is not None and p is not decl:
                out.extend(p.methods.get(name, []))
        return out

    # -- bindings (a small, scoped type environment) --------------------------

    def _scope_of(self, node: Node) -> Node:
        for a in _ancestors(node):
            if a.type in SCOPE_NODES:
                return a
        return self.f.root

    def _bind(self, name: str, scope: Node, start: int, typ: str | None) -> None:
        self._bindings.setdefault(name, []).append(Binding(scope.id, start, typ))

    def _collect_bindings(self, root: Node) -> None:
        f = self.f
        deferred: list[tuple[str, Node, int, Node]] = []
        for node in _walk(root):
            t = node.type
            if t in ("function_declaration", "init_declaration", "protocol_function_declaration"):
                for p in node.children:
                    if p.type == "parameter":
                        names = [c for c in p.named_children if c.type == "simple_identifier"]
                        types = [c for c in p.named_children if c.type in TYPE_NODES]
                        external = p.child_by_field_name("external_name")
                        internal = [c for c in names if external is None or c.id != external.id]
                        if internal and types:
                            self._bind(f.text(internal[0]), node, node.start_byte, norm_type(f.text(types[-1])))
            elif t == "lambda_parameter":
                names = [c for c in node.named_children if c.type == "simple_identifier"]
                types = [c for c in node.named_children if c.type in TYPE_NODES]
                lam = next((a for a in _ancestors(node) if a.type == "lambda_literal"), None)
                if names and types and lam is not None:
                    self._bind(f.text(names[0]), lam, lam.start_byte, norm_type(f.text(types[-1])))
            elif t == "property_declaration":
                scope = self._scope_of(node)
                ann = None
                for c in node.children:
                    if c.type == "type_annotation":
                        ts = [x for x in c.named_children if x.type in TYPE_NODES]
                        ann = norm_type(f.text(ts[-1])) if ts else None
                value = node.child_by_field_name("value")
                for pat in node.children:
                    if pat.type != "pattern":
                        continue
                    for b in pat.children:
                        if b.type == "simple_identifier":
                            name = f.text(b)
                            start = scope.start_byte if scope.type in ("class_body", "enum_class_body", "source_file") else node.start_byte
                            if ann is not None or value is None:
                                self._bind(name, scope, start, ann)
                            else:
                                deferred.append((name, scope, start, value))
            elif t in ("if_statement", "guard_statement"):
                self._bind_conditions(node, deferred)
            elif t == "for_statement":
                item = node.child_by_field_name("item")
                coll = node.child_by_field_name("collection")
                if item is not None and coll is not None:
                    for b in _walk(item):
                        if b.type == "simple_identifier":
                            deferred.append((f.text(b), node, node.start_byte, ("element", coll)))
            elif t == "catch_block":
                # catch let e as T
                for pat in node.children:
                    if pat.type == "pattern" and any(c.type == "as" for c in pat.children):
                        typ = [c for c in pat.children if c.type in TYPE_NODES]
                        inner = [c for c in pat.children if c.type == "pattern"]
                        if typ and inner:
                            for b in _walk(inner[0]):
                                if b.type == "simple_identifier":
                                    self._bind(f.text(b), node, node.start_byte, norm_type(f.text(typ[-1])))
        # Inferred bindings, in source order (later ones may use earlier ones).
        for name, scope, start, value in sorted(deferred, key=lambda d: d[2]):
            if isinstance(value, tuple):
                kind, expr = value
                if kind == "element":
                    typ = element(self.type_of(expr))
                elif kind == "unwrap":
                    typ = unwrap(self.type_of(expr))
                else:  # "same": `if let x {` shorthand
                    typ = unwrap(self._lookup(name, expr))
            else:
                typ = self.type_of(value)
            self._bind(name, scope, start, typ)

    def _bind_conditions(self, node: Node, deferred: list) -> None:
        f = self.f
        kids = node.children
        scope = node if node.type == "if_statement" else self._scope_of(node)
        i = 0
        while i < len(kids):
            c = kids[i]
            if c.type == "value_binding_pattern":
                # let NAME [= EXPR]
                j = i + 1
                while j < len(kids) and kids[j].type != "simple_identifier":
                    j += 1
                if j >= len(kids):
                    break
                name = f.text(kids[j])
                if j + 2 < len(kids) and kids[j + 1].type == "=":
                    deferred.append((name, scope, node.start_byte + 1, ("unwrap", kids[j + 2])))
                    i = j + 3
                    continue
                deferred.append((name, scope, node.start_byte + 1, ("same", kids[j])))
                i = j + 1
                continue
            i += 1

    def _lookup(self, name: str, at: Node) -> str | None:
        cands = self._bindings.get(name)
        if cands:
            for scope in _ancestors(at):
                if scope.type not in SCOPE_NODES:
                    continue
                visible = [b for b in cands if b.scope == scope.id and b.start <= at.start_byte]
                if visible:
                    return max(visible, key=lambda b: b.start).type
        # A member of the enclosing hand-written type declared elsewhere.
        for a in _ancestors(at):
            if a.type == "class_declaration":
                name_node = a.child_by_field_name("name")
                if name_node is None:
                    continue
                owner = self.f.text(name_node).rsplit(".", 1)[-1]
                for model in (self.hand, self.api):
                    decl = model.types.get(owner)
                    if decl is not None and name in decl.fields:
                        return decl.fields[name]
        return None

    def _is_bound(self, name: str, at: Node) -> bool:
        cands = self._bindings.get(name)
        if not cands:
            return False
        for scope in _ancestors(at):
            if scope.type in SCOPE_NODES and any(b.scope == scope.id and b.start <= at.start_byte for b in cands):
                return True
        return False

    # -- type inference ------------------------------------------------------

    def type_of(self, n: Node | None) -> str | None:
        if n is None:
            return None
        f = self.f
        t = n.type
        if t == "simple_identifier":
            name = f.text(n)
            if name == "$0":
                return self._closure_element(n)
            if self._is_bound(name, n):
                return self._lookup(name, n)
            if name in self.api.types or name in self.hand.types:
                return "meta:" + name
            return self._lookup(name, n)
        if t in ("try_expression", "await_expression"):
            inner = [c for c in n.named_children if c.type not in ("try_operator",)]
            return self.type_of(inner[-1]) if inner else None
        if t == "postfix_expression":
            target = n.child_by_field_name("target")
            return unwrap(self.type_of(target))
        if t == "as_expression":
            typ = [c for c in n.named_children if c.type in TYPE_NODES]
            return norm_type(f.text(typ[-1])) if typ else None
        if t == "line_string_literal" or t == "multi_line_string_literal":
            return "String"
        if t == "boolean_literal":
            return "Bool"
        if t == "self_expression":
            return None
        if t == "tuple_expression" and len(n.named_children) == 1:
            return self.type_of(n.named_children[0])
        if t == "navigation_expression":
            target, member = self._nav_parts(n)
            if target is None or member is None:
                return None
            if target.type == "self_expression":
                return self._lookup(member, n)
            return self._member_type(self.type_of(target), member)
        if t == "call_expression":
            return self._call_type(n)
        return None

    def _closure_element(self, n: Node) -> str | None:
        """`$0` in `array.map { $0.x }` and friends: the array's element."""
        lam = next((a for a in _ancestors(n) if a.type == "lambda_literal"), None)
        if lam is None:
            return None
        suffix = lam.parent
        if suffix is not None and suffix.type == "annotated_lambda":
            suffix = suffix.parent
        call = suffix.parent if suffix is not None and suffix.type == "call_suffix" else None
        if call is None or call.type != "call_expression":
            # `array.first(where: { $0.x })`: value_argument → value_arguments → call_suffix → call
            call = lam
            for _ in range(4):
                call = call.parent if call is not None else None
            if call is None or call.type != "call_expression":
                return None
        callee = call.children[0]
        if callee.type != "navigation_expression":
            return None
        target, member = self._nav_parts(callee)
        if member not in ARRAY_CLOSURE_METHODS or target is None:
            return None
        return element(self.type_of(target))

    def _self_generated(self, node: Node) -> TypeDecl | None:
        """The generated type that `self` is, inside `extension GeneratedType`."""
        for a in _ancestors(node):
            if a.type == "class_declaration":
                kind = a.child_by_field_name("declaration_kind")
                name = a.child_by_field_name("name")
                if kind is None or name is None or self.f.text(kind) != "extension":
                    return None
                return self._gen(self.f.text(name).rsplit(".", 1)[-1])
        return None

    def _nav_parts(self, n: Node) -> tuple[Node | None, str | None]:
        target = next((c for c in n.named_children if c.type != "navigation_suffix"), None)
        suffix = next((c for c in n.children if c.type == "navigation_suffix"), None)
        member = None
        if suffix is not None:
            ids = [c for c in suffix.named_children if c.type == "simple_identifier"]
            if ids:
                member = self.f.text(ids[-1]).strip("`")
        return target, member

    def _decls(self, name: str | None) -> list[TypeDecl]:
        out = []
        if not name:
            return out
        for model in (self.api, self.hand):
            d = model.types.get(name)
            if d is not None:
                out.append(d)
        return out

    def _member_type(self, tt: str | None, member: str) -> str | None:
        if tt is None:
            return None
        if tt.startswith("meta:"):
            name = tt[5:]
            for d in self._decls(name):
                if member in d.cases:
                    return name
                if member in d.fields:
                    return d.fields[member]
            return None
        base = unwrap(tt)
        el = element(base)
        if el is not None:
            if member in ("first", "last", "randomElement"):
                return el + "?"
            if member == "count":
                return "Int"
            return None
        for d in self._decls(base):
            if member in d.fields:
                return d.fields[member]
        return None

    def _call_type(self, n: Node) -> str | None:
        callee = n.children[0]
        suffix = next((c for c in n.children if c.type == "call_suffix"), None)
        if suffix is not None and any(c.type == "value_arguments" and c.children and c.children[0].type == "[" for c in suffix.children):
            return element(self.type_of(callee))
        if callee.type == "simple_identifier":
            name = self.f.text(callee)
            if name == "XCTUnwrap":
                args = self._args(n)
                return unwrap(self.type_of(args[0][1])) if args else None
            if name in self.hand.types or name in self.api.types:
                return name
            rets = {fn.returns for fn in self.hand.functions.get(name, [])}
            for decl in self.hand.types.values():
                rets |= {fn.returns for fn in decl.methods.get(name, [])}
            rets |= {fn.returns for fn in self.api.functions.get(name, [])}
            return rets.pop() if len(rets) == 1 else None
        if callee.type == "navigation_expression":
            target, member = self._nav_parts(callee)
            if target is None or member is None:
                return None
            if target.type == "self_expression":
                tt = None
            else:
                tt = self.type_of(target)
            if tt is None:
                return None
            if tt.startswith("meta:"):
                name = tt[5:]
                if member == "init":
                    return name
                for d in self._decls(name):
                    if member in d.cases:
                        return name
                    rets = {fn.returns for fn in d.methods.get(member, [])}
                    if len(rets) == 1:
                        return rets.pop()
                return None
            base = unwrap(tt)
            el = element(base)
            if el is not None:
                if member in ("first", "last"):
                    return el + "?"
                if member in ("filter", "sorted", "reversed", "shuffled"):
                    return base
                return None
            for d in self._decls(base):
                rets = {fn.returns for fn in self._methods(d, member)}
                if len(rets) == 1:
                    return rets.pop()
        return None

    # -- call helpers --------------------------------------------------------

    def _args(self, call: Node) -> list[tuple[str, Node | None]]:
        """(label or "_", value) per argument, trailing closures as ("{}", node)."""
        out: list[tuple[str, Node | None]] = []
        suffix = next((c for c in call.children if c.type == "call_suffix"), None)
        if suffix is None:
            return out
        for c in suffix.children:
            if c.type == "value_arguments":
                for a in c.children:
                    if a.type != "value_argument":
                        continue
                    label_node = next((x for x in a.children if x.type == "value_argument_label"), None)
                    value = a.child_by_field_name("value")
                    label = self.f.text(label_node).strip("`") if label_node is not None else "_"
                    out.append((label, value))
            elif c.type == "lambda_literal":
                out.append(("{}", c))
            elif c.type == "annotated_lambda":
                out.append(("{}", c))
        return out

    def _is_subscript(self, call: Node) -> bool:
        suffix = next((c for c in call.children if c.type == "call_suffix"), None)
        if suffix is None:
            return False
        return any(c.type == "value_arguments" and c.children and c.children[0].type == "[" for c in suffix.children)

    def _matches(self, args: list[tuple[str, Node | None]], fn: Func) -> bool:
        labels = [label for label, _ in args if label != "{}"]
        trailing = len(args) - len(labels)
        i = 0
        for p in fn.params:
            if i < len(labels) and labels[i] == p.label:
                i += 1
                continue
            if p.has_default:
                continue
            if trailing > 0 and i == len(labels):
                trailing -= 1
                continue
            return False
        return i == len(labels) and trailing == 0

    def _call_sig(self, args) -> str:
        return _labels_text(label for label, _ in args if label != "{}")

    def _check_labels(self, node: Node, what: str, name: str, args, overloads: list[Func]) -> Func | None:
        for fn in overloads:
            if self._matches(args, fn):
                self.stats["calls"] += 1
                return fn
        expected = " or ".join(sorted({f"`{fn.signature}`" for fn in overloads}))
        self._issue(node, f"`{name}({self._call_sig(args)})` does not match {what} {expected}")
        return None

    def _check_case_args(self, node: Node, enum: str, case_name: str, args) -> None:
        case = self.api.types[enum].cases[case_name]
        labels = [label for label, _ in args if label != "{}"]
        want = [label or "_" for label, _ in case.params]
        if labels != want:
            self._issue(
                node,
                f"`{enum}.{case_name}({_labels_text(labels)})` does not match the case `{enum}.{case.signature}`",
            )
        else:
            self.stats["calls"] += 1

    # -- (b) calls -----------------------------------------------------------

    def _check_call(self, node: Node) -> None:
        if self._is_subscript(node):
            return
        callee = node.children[0]
        args = self._args(node)
        f = self.f
        if callee.type == "simple_identifier":
            name = f.text(callee).strip("`")
            if self._is_bound(name, callee) or name in self.hand_types or name in self.hand.functions:
                return
            if any(name in d.methods for d in self.hand.types.values()):
                return
            if name in self.api.functions:
                self._check_labels(callee, "the generated function", name, args, self.api.functions[name])
                return
            decl = self._gen(name)
            if decl is not None:
                self._check_init(callee, decl, args)
                return
            if name[:1].islower():
                close = difflib.get_close_matches(name, list(self.api.functions), n=1, cutoff=0.85)
                if close:
                    self._issue(callee, f"unknown function `{name}`; did you mean the generated `{close[0]}`?")
            return
        if callee.type == "navigation_expression":
            target, member = self._nav_parts(callee)
            if target is None or member is None:
                return
            if target.type == "self_expression":
                decl = self._self_generated(callee)
                if decl is not None:
                    self._check_method_call(callee, decl, member, args)
                return
            tt = self.type_of(target)
            if tt is not None and tt.startswith("meta:"):
                self._check_static_call(callee, tt[5:], member, args)
                return
            decl = self._gen(unwrap(tt)) if tt is not None and element(tt) is None else None
            if decl is not None:
                self._check_method_call(callee, decl, member, args)
                return
            if tt is None or (element(tt) is None and not self._decls(unwrap(tt))):
                self._check_unknown_receiver(callee, member, args)
            return
        if callee.type == "prefix_expression":
            return  # implicit member: _check_implicit_member sees the call

    def _check_init(self, node: Node, decl: TypeDecl, args) -> None:
        if decl.kind in ("protocol", "enum"):
            return
        if not decl.inits:
            self._issue(node, f"`{decl.name}` has no public initializer")
            return
        self._check_labels(node, "the initializer", decl.name, args, [self._as_init(fn, decl.name) for fn in decl.inits])

    @staticmethod
    def _as_init(fn: Func, type_name: str) -> Func:
        return Func(type_name + ".init", fn.params, returns=type_name)

    def _check_static_call(self, node: Node, type_name: str, member: str, args) -> None:
        decl = self._gen(type_name)
        if decl is None:
            return
        if member in self._hand_ext_members(type_name):
            return
        if decl.kind == "enum":
            if member in decl.cases:
                self._check_case_args(node, type_name, member, args)
                return
            if member in decl.methods or member in UNIVERSAL_MEMBERS:
                return
            self._issue(node, f"`{type_name}` has no case `{member}`{_did_you_mean(member, decl.cases)}")
            return
        if member == "init":
            self._check_init(node, decl, args)
            return
        statics = [fn for fn in decl.methods.get(member, []) if fn.is_static]
        if statics:
            self._check_labels(node, f"`{type_name}.{member}`:", f"{type_name}.{member}", args, statics)
            return
        if member in decl.methods:
            return  # unapplied instance method; the compiler judges
        self._issue(node, f"`{type_name}` has no static member `{member}`{_did_you_mean(member, decl.member_names())}")

    def _check_method_call(self, node: Node, decl: TypeDecl, member: str, args) -> None:
        if member in self._hand_ext_members(decl.name) or member in UNIVERSAL_MEMBERS:
            return
        methods = self._methods(decl, member)
        if methods:
            self._check_labels(node, f"`{decl.name}.{member}`:", member, args, methods)
            return
        if member in decl.fields or member in decl.cases:
            return
        options = decl.member_names()
        for proto in decl.conforms:
            p = self.api.types.get(proto)
            if p is not None:
                options |= p.member_names()
        self._issue(node, f"`{decl.name}` has no method `{member}`{_did_you_mean(member, options)}")

    def _check_unknown_receiver(self, node: Node, member: str, args) -> None:
        overloads = self.gen_method_names.get(member)
        if not overloads or member in self.hand_members:
            return
        if not any(ch.isupper() for ch in member):
            return  # short names (lock, open, sign…) are too common to judge untyped
        if not any(self._matches(args, fn) for fn in overloads):
            sigs = sorted({fn.signature for fn in overloads})
            self._issue(
                node,
                f"`{member}({self._call_sig(args)})` does not match the generated "
                + " or ".join(f"`{s}`" for s in sigs),
            )

    # -- (b) member access ---------------------------------------------------

    def _check_member_access(self, nav: Node) -> None:
        parent = nav.parent
        if parent is not None and parent.type == "call_expression" and parent.children[0].id == nav.id:
            return  # a call's callee: _check_call
        target, member = self._nav_parts(nav)
        if target is None or member is None:
            return
        if target.type == "self_expression":
            decl = self._self_generated(nav)
            if decl is not None and member not in self._hand_ext_members(decl.name) and member not in UNIVERSAL_MEMBERS:
                if member in decl.fields or self._methods(decl, member) or member in decl.cases:
                    self.stats["members"] += 1
                else:
                    self._issue(nav, f"`{decl.name}` has no member `{member}`{_did_you_mean(member, decl.member_names())}")
            return
        tt = self.type_of(target)
        if tt is None:
            return
        if tt.startswith("meta:"):
            name = tt[5:]
            decl = self._gen(name)
            if decl is None or member in self._hand_ext_members(name) or member in UNIVERSAL_MEMBERS:
                return
            if decl.kind == "enum":
                if member in decl.cases:
                    # A case without arguments, or an unapplied case
                    # constructor such as `.map(AuthError.InvalidInput)`.
                    self.stats["members"] += 1
                    return
                if member in decl.methods or member in decl.fields:
                    return
                self._issue(nav, f"`{name}` has no case `{member}`{_did_you_mean(member, decl.cases)}")
            elif member not in decl.methods and member not in decl.fields:
                self._issue(nav, f"`{name}` has no static member `{member}`{_did_you_mean(member, decl.member_names())}")
            return
        if element(tt) is not None:
            return
        decl = self._gen(unwrap(tt))
        if decl is None or member in self._hand_ext_members(decl.name) or member in UNIVERSAL_MEMBERS:
            return
        if member in decl.fields or self._methods(decl, member) or member in decl.cases:
            self.stats["members"] += 1
            return
        self._issue(nav, f"`{decl.name}` has no member `{member}`{_did_you_mean(member, decl.member_names())}")

    # -- (b) implicit members `.x` -------------------------------------------

    def _implicit_name(self, node: Node) -> str | None:
        if node.type != "prefix_expression":
            return None
        op = node.child_by_field_name("operation")
        target = node.child_by_field_name("target")
        if op is None or target is None or self.f.text(op) != "." or target.type != "simple_identifier":
            return None
        return self.f.text(target).strip("`")

    def _check_implicit_member(self, node: Node) -> None:
        name = self._implicit_name(node)
        if name is None:
            return
        expr = node
        args = None
        if node.parent is not None and node.parent.type == "call_expression" and node.parent.children[0].id == node.id:
            expr = node.parent
            args = self._args(node.parent)
        ctx = unwrap(self._context_type(expr))
        decl = self._gen(ctx)
        if decl is not None and decl.kind == "enum":
            if name in decl.cases:
                if args is not None:
                    self._check_case_args(node, decl.name, name, args)
                else:
                    self.stats["members"] += 1
                return
            if name in decl.methods or name in decl.fields or name in self._hand_ext_members(decl.name):
                return
            if name in ("none", "some"):
                return
            self._issue(node, f"`{decl.name}` has no case `{name}`{_did_you_mean(name, decl.cases)}")
            return
        if ctx is None and args is not None and name not in self.hand_members and name not in self.hand_cases:
            owners = [e for e in self.gen_enums if name in self.api.types[e].cases]
            if len(owners) == 1:
                self._check_case_args(node, owners[0], name, args)

    def _context_type(self, expr: Node) -> str | None:
        p = expr.parent
        if p is None:
            return None
        if p.type == "value_argument":
            call = p
            for _ in range(3):  # value_argument → value_arguments → call_suffix → call
                call = call.parent if call is not None else None
            if call is None or call.type != "call_expression":
                return None
            return self._param_type(call, p)
        if p.type in ("equality_expression",):
            other = [c for c in p.named_children if c.id != expr.id]
            return self.type_of(other[0]) if other else None
        if p.type == "control_transfer_statement" and p.children and self.f.text(p.children[0]) == "return":
            return self._enclosing_return_type(p)
        if p.type == "assignment":
            target = p.child_by_field_name("target")
            if target is not None and target.named_children:
                return self.type_of(target.named_children[0])
            return None
        if p.type == "property_declaration":
            for c in p.children:
                if c.type == "type_annotation":
                    ts = [x for x in c.named_children if x.type in TYPE_NODES]
                    return norm_type(self.f.text(ts[-1])) if ts else None
            return None
        if p.type == "ternary_expression":
            return self._context_type(p)
        if p.type == "statements" and p.parent is not None and p.parent.type in ("computed_property", "computed_getter", "function_body"):
            # single-expression body
            if p.named_children and p.named_children[-1].id == expr.id and len(p.named_children) == 1:
                return self._enclosing_return_type(p)
        return None

    def _enclosing_return_type(self, node: Node) -> str | None:
        for a in _ancestors(node):
            if a.type == "lambda_literal":
                return None
            if a.type == "function_declaration":
                return func_of(self.f, a).returns
            if a.type == "property_declaration":
                for c in a.children:
                    if c.type == "type_annotation":
                        ts = [x for x in c.named_children if x.type in TYPE_NODES]
                        return norm_type(self.f.text(ts[-1])) if ts else None
                return None
        return None

    def _param_type(self, call: Node, arg: Node) -> str | None:
        args = self._args(call)
        index = None
        value_args = []
        suffix = next((c for c in call.children if c.type == "call_suffix"), None)
        if suffix is not None:
            for c in suffix.children:
                if c.type == "value_arguments":
                    value_args = [a for a in c.children if a.type == "value_argument"]
        for i, a in enumerate(value_args):
            if a.id == arg.id:
                index = i
        if index is None:
            return None
        callee = call.children[0]
        f = self.f
        if callee.type == "simple_identifier" and f.text(callee) in ("XCTAssertEqual", "XCTAssertNotEqual"):
            if len(value_args) >= 2 and index in (0, 1):
                other = value_args[1 - index].child_by_field_name("value")
                return self.type_of(other)
            return None
        overloads = self._callee_overloads(callee)
        for fn in overloads:
            if self._matches(args, fn):
                labels = [label for label, _ in args if label != "{}"]
                # Map the argument to its parameter by walking labels.
                i = 0
                for p in fn.params:
                    if i < len(labels) and labels[i] == p.label:
                        if i == index:
                            return p.type
                        i += 1
        return None

    def _callee_overloads(self, callee: Node) -> list[Func]:
        f = self.f
        if callee.type == "simple_identifier":
            name = f.text(callee)
            out = list(self.hand.functions.get(name, []))
            for d in self.hand.types.values():
                out.extend(d.methods.get(name, []))
            decl = self.hand.types.get(name) or self._gen(name)
            if decl is not None:
                out.extend(decl.inits)
            out.extend(self.api.functions.get(name, []))
            return out
        if callee.type == "navigation_expression":
            target, member = self._nav_parts(callee)
            if target is None or member is None:
                return []
            tt = None if target.type == "self_expression" else self.type_of(target)
            if tt is None:
                return []
            if tt.startswith("meta:"):
                out = []
                for d in self._decls(tt[5:]):
                    out.extend(d.inits if member == "init" else d.methods.get(member, []))
                return out
            out = []
            for d in self._decls(unwrap(tt)):
                out.extend(self._methods(d, member))
            return out
        return []

    # -- (c) patterns ----------------------------------------------------------

    def _case_patterns(self, kids: list[Node]):
        """Finds `[E].name[(items)]` in a flat child list; yields
        (qualifier, name, args or None, node)."""
        f = self.f
        i = 0
        n = len(kids)
        while i < n:
            c = kids[i]
            if c.type == "." and i + 1 < n and kids[i + 1].type == "simple_identifier":
                qualifier = None
                if i > 0 and kids[i - 1].type == "user_type":
                    qualifier = norm_type(f.text(kids[i - 1]))
                name_node = kids[i + 1]
                j = i + 2
                args = None
                if j < n and kids[j].type == "(":
                    args = []
                    label = None
                    depth = 0
                    j += 1
                    item_started = False
                    while j < n:
                        k = kids[j]
                        if k.type == "(":
                            depth += 1
                        elif k.type == ")":
                            if depth == 0:
                                if item_started:
                                    args.append((label or "_", None))
                                break
                            depth -= 1
                        elif k.type == "," and depth == 0:
                            args.append((label or "_", None))
                            label = None
                            item_started = False
                        elif k.type == "simple_identifier" and j + 1 < n and kids[j + 1].type == ":":
                            label = f.text(k)
                            item_started = True
                            j += 2
                            continue
                        else:
                            item_started = True
                        j += 1
                yield qualifier, f.text(name_node).strip("`"), args, name_node
                i = j + 1 if args is not None else i + 2
                continue
            i += 1

    def _check_case_use(self, enum: str, name: str, args, node: Node) -> None:
        decl = self.api.types[enum]
        if name not in decl.cases:
            self._issue(node, f"`{enum}` has no case `{name}`{_did_you_mean(name, decl.cases)}")
            return
        self.stats["patterns"] += 1
        if args is None:
            return
        case = decl.cases[name]
        if not case.params:
            self._issue(node, f"`{enum}.{name}` has no associated values")
            return
        if len(args) != len(case.params):
            if len(args) == 1 and args[0][0] == "_":
                return  # one pattern binding the whole tuple
            self._issue(
                node,
                f"`{enum}.{name}` has {len(case.params)} associated value(s) "
                f"`{case.signature}`, the pattern has {len(args)}",
            )
            return
        for (label, _), (want, _) in zip(args, case.params):
            if label != "_" and label != (want or "_"):
                self._issue(node, f"`{enum}.{name}`'s associated value is `{want}:`, not `{label}:` (case `{enum}.{case.signature}`)")

    def _enum_for(self, qualifier: str | None, subject_type: str | None, siblings: list[str]) -> str | None:
        if qualifier is not None:
            return qualifier if self._gen(qualifier) is not None and qualifier in self.gen_enums else None
        subject = unwrap(subject_type)
        if subject in self.gen_enums and self._gen(subject) is not None:
            return subject
        if subject is not None:
            return None  # a hand-written or other known type
        owners = set()
        for s in siblings:
            if s in self.hand_cases:
                return None
            found = [e for e in self.gen_enums if s in self.api.types[e].cases]
            if len(found) == 1:
                owners.add(found[0])
        return owners.pop() if len(owners) == 1 else None

    def _check_pattern_node(self, node: Node) -> None:
        if not any(c.type == "." for c in node.children):
            return
        subject_type = None
        siblings: list[str] = []
        sw = None
        for a in _ancestors(node):
            if a.type == "switch_statement":
                sw = a
                break
            if a.type in ("catch_block", "statements"):
                break
        if sw is not None:
            subject_type = self.type_of(sw.child_by_field_name("expr"))
            siblings = [name for _, name, _, _ in self._switch_cases(sw)]
        for qualifier, name, args, name_node in self._case_patterns(node.children):
            enum = self._enum_for(qualifier, subject_type, siblings)
            if enum is not None:
                self._check_case_use(enum, name, args, name_node)

    def _switch_cases(self, sw: Node):
        for entry in sw.children:
            if entry.type != "switch_entry":
                continue
            for sp in entry.children:
                if sp.type != "switch_pattern":
                    continue
                for pat in sp.children:
                    if pat.type == "pattern":
                        yield from self._case_patterns(pat.children)

    def _check_condition_patterns(self, node: Node) -> None:
        kids = node.children
        i = 0
        while i < len(kids):
            if kids[i].type == "case":
                j = i + 1
                while j < len(kids) and kids[j].type != "=":
                    j += 1
                subject = kids[j + 1] if j + 1 < len(kids) else None
                subject_type = self.type_of(subject)
                for qualifier, name, args, name_node in self._case_patterns(kids[i + 1 : j]):
                    enum = self._enum_for(qualifier, subject_type, [name])
                    if enum is not None:
                        self._check_case_use(enum, name, args, name_node)
                i = j + 1
                continue
            i += 1

    def _check_switch(self, sw: Node) -> None:
        """Exhaustiveness of a switch over a generated enum without default."""
        entries = [e for e in sw.children if e.type == "switch_entry"]
        if not entries:
            return
        for e in entries:
            if any(c.type == "default_keyword" for c in e.children):
                return
            for sp in e.children:
                if sp.type == "switch_pattern":
                    pats = [p for p in sp.children if p.type == "pattern"]
                    if not pats or not any(c.type == "." for c in pats[0].children):
                        return  # `case _`, `case let x`, `case x as T`: not judged
                    if any(c.type == "where_keyword" for c in e.children):
                        return
        cases = list(self._switch_cases(sw))
        subject_type = self.type_of(sw.child_by_field_name("expr"))
        if subject_type is not None and subject_type.endswith("?"):
            return
        names = [name for _, name, _, _ in cases]
        enum = None
        qualifiers = {q for q, _, _, _ in cases if q is not None}
        if len(qualifiers) == 1:
            enum = self._enum_for(qualifiers.pop(), None, [])
        if enum is None:
            enum = self._enum_for(None, subject_type, names)
        if enum is None:
            return
        missing = [c for c in self.api.types[enum].cases if c not in names]
        self.stats["switches"] += 1
        if missing:
            self._issue(sw, f"switch over `{enum}` has no `default` and misses case(s): " + ", ".join(missing))

    # -- (b) bare names inside `extension GeneratedType` ----------------------

    def _check_extension_identifiers(self) -> None:
        """In an extension of a generated type, a bare name that is neither
        bound nor a member but is close to a member is a misspelt member."""
        f = self.f
        for decl in _walk(f.root):
            if decl.type != "class_declaration":
                continue
            kind = decl.child_by_field_name("declaration_kind")
            name_node = decl.child_by_field_name("name")
            if kind is None or name_node is None or f.text(kind) != "extension":
                continue
            gen = self._gen(f.text(name_node).rsplit(".", 1)[-1])
            if gen is None:
                continue
            members = gen.member_names() | self._hand_ext_members(gen.name)
            for node in _walk(decl):
                if node.type != "simple_identifier" or node.parent is None:
                    continue
                if node.parent.type in NOT_EXPRESSION_PARENTS:
                    continue
                if node.parent.type == "call_expression" and node.parent.children[0].id == node.id:
                    continue  # a function call: _check_call judges
                name = f.text(node)
                if name in members or self._is_bound(name, node) or name.startswith("$"):
                    continue
                close = difflib.get_close_matches(name, sorted(members), n=1, cutoff=0.8)
                if close:
                    self._issue(node, f"`{name}` is not a member of `{gen.name}`; did you mean `{close[0]}`?")

    # -- (a) conformance -------------------------------------------------------

    def _check_conformances(self) -> None:
        f = self.f
        for node in _walk(f.root):
            if node.type != "class_declaration":
                continue
            name_node = node.child_by_field_name("name")
            if name_node is None:
                continue
            type_name = f.text(name_node).rsplit(".", 1)[-1]
            inherits = []
            for c in node.children:
                if c.type == "inheritance_specifier":
                    ts = [x for x in c.named_children if x.type in TYPE_NODES]
                    if ts:
                        inherits.append(norm_type(f.text(ts[-1])))
            if any(i in self.gen_classes for i in inherits):
                continue  # subclass of a generated class: inherits everything
            impl = self.hand.types.get(type_name)
            for proto in inherits:
                if proto not in self.gen_protocols or self._gen(proto) is None:
                    continue
                req_decl = self.api.types[proto]
                for reqs in req_decl.methods.values():
                    for req in reqs:
                        self._check_requirement(name_node, type_name, proto, req, impl)

    def _check_requirement(self, at: Node, type_name: str, proto: str, req: Func, impl: TypeDecl | None) -> None:
        have = impl.methods.get(req.name, []) if impl is not None else []
        same = [fn for fn in have if fn.labels == req.labels and not fn.is_static]
        if not same:
            hint = ""
            if have:
                hint = " (it has " + ", ".join(f"`{fn.signature}`" for fn in have) + ")"
            self._issue(at, f"`{type_name}` conforms to `{proto}` but does not implement `{req.signature}`{hint}")
            return
        fn = same[0]
        self.stats["requirements"] += 1
        for p, q in zip(fn.params, req.params):
            if p.type is not None and q.type is not None and p.type != q.type:
                self._issue(
                    at,
                    f"`{type_name}.{fn.signature}` parameter `{p.label}` is `{p.type}`; `{proto}` requires `{q.type}`",
                )
        if (fn.returns if fn.returns not in VOID else None) != (req.returns if req.returns not in VOID else None):
            self._issue(
                at,
                f"`{type_name}.{fn.signature}` returns `{fn.returns or 'Void'}`; `{proto}` requires `{req.returns or 'Void'}`",
            )
        if fn.throws and not req.throws:
            self._issue(at, f"`{type_name}.{fn.signature}` throws; `{proto}.{req.signature}` does not")
        if fn.is_async and not req.is_async:
            self._issue(at, f"`{type_name}.{fn.signature}` is async; `{proto}.{req.signature}` is not")
