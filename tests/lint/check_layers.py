#!/usr/bin/env python3
"""The include rules of HACKING.md ("Which part may use which"), as a test.

Reads every .c and .h of the product (tests/ folders left out), follows its
#include "..." lines and fails, naming file:line, when a file includes a
room it may not use, includes another room's private header, or is part of
an include cycle.  A review misses a wrong include; a failed test does not.

    check_layers.py [--root DIR]     check the tree (TAP on stdout)
    check_layers.py --self-test      prove the checker rejects each violation
"""

import os
import re
import sys
import tempfile

# Each room and the rooms it may include directly; what those may include
# it may include too.  A room's own files may include one another freely.
# bench/ obeys like the tools: a benchmark measures what the product
# links, through the same public headers, so it breaks with no refactor.
ROOMS = {
    'base': (),
    'core/state': ('base',),
    'core/config': ('core/state',),
    'core/audit': ('core/config',),
    'core/totp': ('core/config',),
    # The directory keeps TOTP too ([totp] store = directory): it
    # implements core/totp's store operations on the user's entry.
    'core/dir': ('core/config', 'core/totp'),
    'core/lockout': ('core/config', 'core/dir'),
    # The control protocol: both ends include it, so it stays small.
    'core/ctl': ('core/state',),
    'policy': ('base',),
    'access': ('policy', 'core/audit', 'core/dir', 'core/totp',
               'core/lockout', 'core/ctl'),
    'pam_module': ('access',),
    'gateway': ('access',),
    'cli': ('access',),
    'bench': ('access',),
}

# The folders read.  A folder named tests/ anywhere is not product code.
SCANNED = ('base', 'core', 'policy', 'access', 'pam_module', 'gateway',
           'cli', 'bench')

# Known breaks of the rule, each until the named change lands: (file,
# included path, why).  An entry that no longer matches fails too, so the
# list only shrinks.
KNOWN = ()

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


class TableError(Exception):
    pass


def closure(rooms):
    """Each room's allowed rooms, transitively; raises on a cycle or an
    unknown name in the table itself."""
    out = {}

    def visit(room, path):
        if room in out:
            return out[room]
        if room in path:
            raise TableError('the layer table has a cycle: ' +
                             ' -> '.join(path + [room]))
        if room not in rooms:
            raise TableError('the layer table names an unknown room: ' +
                             room)
        allowed = set()
        for dep in rooms[room]:
            allowed.add(dep)
            allowed |= visit(dep, path + [room])
        out[room] = allowed
        return allowed

    for room in rooms:
        visit(room, [])
    return out


def public_header(room):
    return '%s/%s.h' % (room, room.rsplit('/', 1)[-1])


def room_of(path, rooms):
    """(room, None) for a path in a room; (None, why) otherwise."""
    parts = path.split('/')
    if 'tests' in parts:
        return None, 'test code, not part of any room'
    best = None
    for room in rooms:
        if path.startswith(room + '/') and (best is None or
                                            len(room) > len(best)):
            best = room
    if best is not None:
        return best, None
    if parts[0] == 'core' and len(parts) > 2:
        return None, ('core/%s is not in the layer table: add it to ROOMS '
                      'in tests/lint/check_layers.py with the rooms it '
                      'may use' % parts[1])
    if parts[0] == 'core':
        return None, 'core/ holds rooms only, not files'
    return None, 'not in any room'


def source_files(root):
    for top in SCANNED:
        base = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != 'tests')
            for name in sorted(filenames):
                if name.endswith(('.c', '.h')):
                    full = os.path.join(dirpath, name)
                    yield os.path.relpath(full, root).replace(os.sep, '/')


def includes(root, rel):
    """(line number, bracket, path) of each #include outside comments."""
    out = []
    in_comment = False
    with open(os.path.join(root, rel), encoding='utf-8',
              errors='replace') as f:
        for n, line in enumerate(f, 1):
            code = ''
            i = 0
            while i < len(line):
                if in_comment:
                    end = line.find('*/', i)
                    if end < 0:
                        i = len(line)
                    else:
                        in_comment = False
                        i = end + 2
                elif line.startswith('/*', i):
                    in_comment = True
                    i += 2
                elif line.startswith('//', i):
                    break
                else:
                    code += line[i]
                    i += 1
            m = INCLUDE_RE.match(code)
            if m:
                out.append((n, m.group(1), m.group(2)))
    return out


def resolve(root, rel, bracket, name):
    """The root-relative path an include names, None for a system header
    (<...> not in the tree), or a string starting with '!' saying why it
    cannot be resolved."""
    cands = []
    if bracket == '"':
        cands.append(os.path.join(os.path.dirname(rel), name))
    cands.append(name)
    for c in cands:
        norm = os.path.normpath(c).replace(os.sep, '/')
        if norm == '..' or norm.startswith('../') or os.path.isabs(norm):
            if bracket == '"':
                return '!"%s" points outside the tree' % name
            continue
        if os.path.isfile(os.path.join(root, norm)):
            return norm
    if bracket == '<':
        return None
    return '!"%s" names no file in the tree' % name


def find_cycles(edges):
    """Each strongly connected component with a cycle, as one cycle in it
    (a list of (file, line) ending where it started), found iteratively."""
    index, low, on_stack, stack, sccs = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, {}))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, {})))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1 or node in edges.get(node, {}):
                    sccs.append(set(comp))
    cycles = []
    for comp in sccs:
        first = min(comp)
        # Shortest way back to FIRST inside the component.
        prev = {first: None}
        queue = [first]
        found = None
        while queue and found is None:
            nxt_queue = []
            for node in queue:
                for nxt in sorted(edges.get(node, {})):
                    if nxt == first:
                        found = node
                        break
                    if nxt in comp and nxt not in prev:
                        prev[nxt] = node
                        nxt_queue.append(nxt)
                if found is not None:
                    break
            queue = nxt_queue
        path = []
        node = found
        while node is not None:
            path.append(node)
            node = prev[node]
        path.reverse()
        cycle = []
        for i, node in enumerate(path):
            to = path[i + 1] if i + 1 < len(path) else first
            cycle.append((node, edges[node][to]))
        cycle.append((first, None))
        cycles.append(cycle)
    return sorted(cycles)


def check(root, rooms=None, known=()):
    """Every violation under ROOT as (kind, message); kind is 'layer',
    'private' or 'cycle'."""
    rooms = ROOMS if rooms is None else rooms
    allowed = closure(rooms)
    errors = []
    edges = {}
    used_known = set()
    known_map = {(k[0], k[1]): k for k in known}
    for rel in source_files(root):
        room, why = room_of(rel, rooms)
        if room is None:
            errors.append(('layer', '%s: %s' % (rel, why)))
        edges.setdefault(rel, {})
        for n, bracket, name in includes(root, rel):
            target = resolve(root, rel, bracket, name)
            if target is None:
                continue
            where = '%s:%d' % (rel, n)
            if target.startswith('!'):
                errors.append(('layer', '%s: %s' % (where, target[1:])))
                continue
            edges[rel].setdefault(target, n)
            if room is None:
                continue
            troom, twhy = room_of(target, rooms)
            if troom == room:
                continue
            if (rel, target) in known_map:
                used_known.add((rel, target))
                continue
            if troom is None:
                errors.append(('layer', '%s: includes %s: %s' %
                               (where, target, twhy)))
            elif troom not in allowed[room]:
                may = ', '.join(sorted(allowed[room])) or 'nothing'
                errors.append(('layer', '%s: %s may not include %s (%s); '
                               '%s may use: %s' % (where, room, troom,
                                                   target, room, may)))
            elif target != public_header(troom):
                errors.append(('private', '%s: %s is private to %s; '
                               'outside it include only %s' %
                               (where, target, troom,
                                public_header(troom))))
    for key, entry in sorted(known_map.items()):
        if key not in used_known:
            errors.append(('layer', '%s: no longer includes %s: remove its '
                           'entry from KNOWN in tests/lint/check_layers.py'
                           % key))
    for cycle in find_cycles(edges):
        text = ' -> '.join('%s:%d' % (f, n) if n is not None else f
                           for f, n in cycle)
        errors.append(('cycle', 'include cycle: ' + text))
    return errors, len(edges)


def tap(points):
    """Prints (ok, description, diagnostics) points as TAP; exit status."""
    failed = 0
    for i, (ok, desc, diag) in enumerate(points, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', i, desc))
        for line in (diag if not ok else ()):
            print('# ' + line)
        failed += not ok
    print('1..%d' % len(points))
    return 1 if failed else 0


def run_tree(root):
    try:
        errors, nfiles = check(root, known=KNOWN)
    except TableError as e:
        return tap([(False, 'the layer table', [str(e)])])
    points = []
    for kind, desc in (('layer', 'every include is of a room below'),
                       ('private', 'only public headers cross rooms'),
                       ('cycle', 'no include cycle')):
        found = [m for k, m in errors if k == kind]
        if found:
            points += [(False, m, []) for m in found]
        else:
            points.append((True, '%s (%d files)' % (desc, nfiles), []))
    for f, inc, why in KNOWN:
        print('# known: %s includes %s: %s' % (f, inc, why))
    return tap(points)


# --- self-test: small trees, each with one kind of violation ------------

CLEAN = {
    'base/base.h': '',
    'base/errors.c': '#include "base/base.h"\n',
    'core/state/state.h': '#include "base/base.h"\n',
    'core/state/state_int.h': '#include "core/state/state.h"\n',
    'core/state/fileio.c': '#include "state_int.h"\n',
    'core/config/config.h': '#include "core/state/state.h"\n',
    'core/dir/dir.h': '#include "core/config/config.h"\n',
    'core/dir/dir_int.h': '#include "core/dir/dir.h"\n',
    'core/dir/dir.c': ('#include <stdio.h>\n#include "base/base.h"\n'
                       '#include "dir_int.h"\n'),
    'core/dir/tests/t.c': '#include "core/totp/totp_int.h"\n',
    'core/totp/totp.h': '#include "core/config/config.h"\n',
    'core/totp/totp_int.h': '#include "totp.h"\n',
    'core/lockout/lockout.c': '#include "core/dir/dir.h"\n',
    'core/ctl/ctl.h': '#include "core/state/state.h"\n',
    'policy/policy.h': '#include "base/base.h"\n',
    'policy/policy_int.h': '#include "policy/policy.h"\n',
    'access/access.h': ('#include "policy/policy.h"\n'
                        '#include "core/dir/dir.h"\n'),
    'access/a.c': ('/* #include "core/dir/dir_int.h"\n'
                   '#include "cli/cli.h" */\n'
                   '#include "access/access.h" // "x.h"\n'
                   '#include "core/ctl/ctl.h"\n'),
    'cli/cli.h': '#include "access/access.h"\n',
    'cli/main.c': ('#include "cli/cli.h"\n#include "core/totp/totp.h"\n'
                   '#include "base/base.h"\n'),
    'gateway/gw.c': '#include "policy/policy.h"\n',
    'bench/b.c': '#include "core/state/state.h"\n',
    'tests/lib/util.h': '#include "cli/cli.h"\n',
}

# (name, files added to or replacing CLEAN's, expected (kind, message
# fragment) list: exactly these errors and no others.)
BROKEN = [
    ('policy uses core', {'policy/p.c': '\n#include "core/state/state.h"\n'},
     [('layer', 'policy/p.c:2: policy may not include core/state')]),
    ('state uses config (upward)',
     {'core/state/fileio.c': '#include "core/config/config.h"\n'},
     [('layer', 'core/state/fileio.c:1: core/state may not include '
       'core/config')]),
    ('totp uses dir (upward)',
     {'core/totp/t.c': '#include "core/dir/dir.h"\n'},
     [('layer', 'core/totp/t.c:1: core/totp may not include core/dir')]),
    ('audit uses dir (sibling)',
     {'core/audit/a.c': '#include "core/dir/dir.h"\n'},
     [('layer', 'core/audit/a.c:1: core/audit may not include core/dir')]),
    ('ctl uses config', {'core/ctl/ctl.c': '#include "core/config/config.h"\n'},
     [('layer', 'core/ctl/ctl.c:1: core/ctl may not include core/config')]),
    ('cli uses gateway (peer)',
     {'gateway/gw.h': '', 'cli/x.c': '#include "gateway/gw.h"\n'},
     [('layer', 'cli/x.c:1: cli may not include gateway')]),
    ('access uses pam_module',
     {'pam_module/pam.h': '', 'access/b.c': '#include "pam_module/pam.h"\n'},
     [('layer', 'access/b.c:1: access may not include pam_module')]),
    ('unknown core room', {'core/newroom/n.c': '#include "base/base.h"\n'},
     [('layer', 'core/newroom/n.c: core/newroom is not in the layer table')]),
    ('file loose in core/', {'core/loose.c': ''},
     [('layer', 'core/loose.c: core/ holds rooms only')]),
    ('product includes test code',
     {'cli/y.c': '#include "tests/lib/util.h"\n'},
     [('layer', 'cli/y.c:1: includes tests/lib/util.h: test code')]),
    ('include names no file', {'cli/z.c': '#include "nothere.h"\n'},
     [('layer', 'cli/z.c:1: "nothere.h" names no file in the tree')]),
    ('include leaves the tree', {'cli/z.c': '#include "../../etc/x.h"\n'},
     [('layer', 'cli/z.c:1: "../../etc/x.h" points outside the tree')]),
    ('private header of dir', {'access/c.c': '#include "core/dir/dir_int.h"\n'},
     [('private', 'access/c.c:1: core/dir/dir_int.h is private to core/dir; '
       'outside it include only core/dir/dir.h')]),
    ('private header through <>',
     {'cli/w.c': '#include <policy/policy_int.h>\n'},
     [('private', 'cli/w.c:1: policy/policy_int.h is private to policy')]),
    ('private header by a relative path',
     {'core/lockout/l.c': '#include "../dir/dir_int.h"\n'},
     [('private', 'core/lockout/l.c:1: core/dir/dir_int.h is private')]),
    ('two-file cycle',
     {'cli/a.h': '#include "cli/b.h"\n', 'cli/b.h': '\n#include "cli/a.h"\n'},
     [('cycle', 'include cycle: cli/a.h:1 -> cli/b.h:2 -> cli/a.h')]),
    ('three-file cycle',
     {'base/base.h': '#include "base/x.h"\n',
      'base/x.h': '#include "base/y.h"\n',
      'base/y.h': '#include "base/base.h"\n'},
     [('cycle', 'include cycle: base/base.h:1 -> base/x.h:1 -> base/y.h:1 '
       '-> base/base.h')]),
    ('self-include', {'cli/s.h': '#include "s.h"\n'},
     [('cycle', 'include cycle: cli/s.h:1 -> cli/s.h')]),
]


def write_tree(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)


def matches(errors, expected):
    """Diagnostics if ERRORS is not exactly EXPECTED, else []."""
    left = list(errors)
    diag = []
    for kind, frag in expected:
        hit = [e for e in left if e[0] == kind and frag in e[1]]
        if hit:
            left.remove(hit[0])
        else:
            diag.append('missing %s error: %s' % (kind, frag))
    diag += ['unexpected %s error: %s' % e for e in left]
    if diag:
        diag += ['got: %s: %s' % e for e in errors]
    return diag


def self_test():
    points = []
    try:
        closure(ROOMS)
        points.append((True, 'the real layer table has no cycle', []))
    except TableError as e:
        points.append((False, 'the real layer table has no cycle', [str(e)]))
    for bad, frag in (({'a': ('b',), 'b': ('a',)}, 'has a cycle: a -> b -> a'),
                      ({'a': ('z',)}, 'unknown room: z')):
        try:
            closure(bad)
            points.append((False, 'a bad table is refused', ['accepted']))
        except TableError as e:
            points.append((frag in str(e), 'a bad table is refused: ' + frag,
                           [str(e)]))
    with tempfile.TemporaryDirectory(prefix='check_layers.') as tmp:
        root = os.path.join(tmp, 'clean')
        write_tree(root, CLEAN)
        errors, n = check(root)
        points.append((not errors and n == len(CLEAN) - 2,
                       'a clean tree passes (%d files)' % n,
                       ['%s: %s' % e for e in errors]))
        for i, (name, files, expected) in enumerate(BROKEN):
            root = os.path.join(tmp, 'case%d' % i)
            tree = dict(CLEAN)
            tree.update(files)
            write_tree(root, tree)
            errors, _ = check(root)
            points.append((not matches(errors, expected),
                           'refused: ' + name, matches(errors, expected)))
        # A known exception silences its one include, and goes stale
        # when the include is gone.
        root = os.path.join(tmp, 'known')
        tree = dict(CLEAN)
        tree['core/dir/dir.c'] = '#include "core/totp/totp.h"\n'
        write_tree(root, tree)
        known = (('core/dir/dir.c', 'core/totp/totp.h', 'why'),)
        errors, _ = check(root, known=known)
        points.append((not errors, 'a known exception is let through',
                       ['%s: %s' % e for e in errors]))
        root = os.path.join(tmp, 'stale')
        write_tree(root, CLEAN)
        errors, _ = check(root, known=known)
        diag = matches(errors, [('layer', 'core/dir/dir.c: no longer '
                                 'includes core/totp/totp.h')])
        points.append((not diag, 'a stale known exception fails', diag))
    return tap(points)


def main(argv):
    root = os.environ.get('PG_SOURCE_ROOT') or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..')
    args = argv[1:]
    if args == ['--self-test']:
        return self_test()
    if len(args) == 2 and args[0] == '--root':
        root = args[1]
    elif args:
        sys.stderr.write(__doc__)
        return 2
    return run_tree(os.path.abspath(root))


if __name__ == '__main__':
    sys.exit(main(sys.argv))
