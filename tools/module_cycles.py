#!/usr/bin/env python3
"""Import cycles between the modules of a crate's source tree (`python3 tools/module_cycles.py
nn-core/src`; also nn-macros/src). A module is a file (`a/b.rs` or `a/b/mod.rs` is `a::b`); an
edge is a `use` or path through `crate::`, `super::` or `self::`, doc links included, with
re-exports (`pub use child::Name` in any module) followed to the module that defines the name. Prints each cycle among
files, then among top-level modules; prints nothing and exits 0 when there is none."""
import os
import re
import sys


def modules(root):
    found = {}
    for directory, _, files in os.walk(root):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(directory, name)
                parts = os.path.relpath(path, root)[:-3].split("/")
                if parts[-1] in ("mod", "lib"):
                    parts = parts[:-1]
                found["::".join(parts)] = path
    return found


def reexports(mods):
    """For each module, the names it re-exports from a child module (`pub use child::Name`,
    `pub(crate) use child::{A, B}`), mapped to that child."""
    found = {}
    for m, path in mods.items():
        source = open(path).read()
        names = {}
        pattern = r"(?:pub(?:\([a-z]+\))? )?use ([a-z_]+)::(?:\{([^;]*?)\}|([A-Za-z_0-9]+));"
        for u in re.finditer(pattern, source, re.S):
            child = (m + "::" if m else "") + u.group(1)
            if child in mods:
                for item in (u.group(2) or u.group(3)).split(","):
                    item = item.strip().split(" as ")[-1].strip()
                    if item:
                        names[item] = child
        found[m] = names
    return found


def resolve(mods, names, current, path):
    segs = path.split("::")
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs[0] in ("super", "self"):
        base = current.split("::") if current else []
        while segs and segs[0] == "super":
            base, segs = base[:-1], segs[1:]
        if segs and segs[0] == "self":
            segs = segs[1:]
    else:
        return None
    for i in range(len(segs), -1, -1):
        candidate = "::".join(base + segs[:i])
        if candidate in mods:
            # A name the module re-exports from a child is that child's.
            while i < len(segs) and segs[i] in names.get(candidate, {}):
                candidate = names[candidate][segs[i]]
                i += 1
            return candidate
    return None


def edges_of(root):
    mods = modules(root)
    names = reexports(mods)
    edges = {m: set() for m in mods}
    for m, path in mods.items():
        source = re.split(r"#\[cfg\(test\)\]\s*mod tests\s*\{", open(path).read())[0]
        for u in re.finditer(r"\b((?:crate|super|self)(?:::[A-Za-z_0-9]+)*)(::\{([^;]*?)\})?", source, re.S):
            if "::" not in u.group(1) and u.group(3) is None:
                continue  # the bare word, in prose
            targets = [u.group(1)]
            for item in (u.group(3) or "").split(","):
                item = item.strip().split(" as ")[0].strip()
                if item and re.match(r"^[A-Za-z_0-9:]+$", item):
                    targets.append(u.group(1) + "::" + item)
            for t in targets:
                r = resolve(mods, names, m, t)
                if r not in (None, "", m) and not m.startswith(r + "::"):
                    edges[m].add(r)
    return edges


def cycles(edges):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "nn-core/src"
    edges = edges_of(root)
    top = {}
    for a, targets in edges.items():
        for b in targets:
            ta, tb = a.split("::")[0], b.split("::")[0]
            if ta != tb:
                top.setdefault(ta, set()).add(tb)
    found = False
    for label, graph in (("files", edges), ("top-level modules", top)):
        for component in cycles(graph):
            found = True
            print(f"cycle among {label}: {' <-> '.join(component)}")
            for a in component:
                print(f"    {a} -> {sorted(b for b in graph.get(a, ()) if b in component)}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
