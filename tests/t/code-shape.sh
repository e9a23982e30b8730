#!/bin/bash
# The shape of the code (docs/ARCHITECTURE.md, "Layers"): no function over 60 lines
# outside tests, as Universal Ctags measures it (ctags --c-kinds=f --fields=+ne,
# from the first line to the end line); dependencies point down only (client ->
# signer -> tokens -> common, client/ using signer/signer.h alone); no include cycle
# between modules (a module is NAME.c with NAME.h); every client/*.c has its own
# header or is named in one.
. "$(dirname "$0")/../lib/harness.sh"
cd "$TH_ROOT"

ctags --version 2>/dev/null | grep -q 'Universal Ctags' ||
	th_fail "Universal Ctags is missing: run 'make deps' (package universal-ctags)"
srcs=$(ls common/*.c tokens/*.c signer/*.c client/*.c)
[ -n "$srcs" ] || th_fail "no sources found"

# ---- functions of at most 60 lines
ctags -f - --c-kinds=f --fields=+ne $srcs >"$T/tags" || th_fail "ctags failed"
[ "$(wc -l <"$T/tags")" -gt 300 ] || th_fail "ctags found only $(wc -l <"$T/tags") functions"
awk -F'\t' '{ n = ""; e = ""
	for (i = 4; i <= NF; i++) { if ($i ~ /^line:/) n = substr($i, 6); if ($i ~ /^end:/) e = substr($i, 5) }
	if (n == "" || e == "") { print "no line/end for " $1 " in " $2; next }
	if (e - n + 1 > 60) print $2 ": " $1 " is " e - n + 1 " lines (" n "-" e ")" }' "$T/tags" >"$T/long"
[ -s "$T/long" ] && th_fail "functions over 60 lines:
$(cat "$T/long")"

# ---- layers, include cycles, one header per client module
/usr/bin/python3 - common tokens signer client <<'PY' >"$T/shape" || th_fail "$(cat "$T/shape")"
import os, re, sys
layers = sys.argv[1:]                       # bottom first
rank = {l: i for i, l in enumerate(layers)}
inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
edges, bad = {}, []
for layer in layers:
    for f in sorted(os.listdir(layer)):
        if not f.endswith(('.c', '.h')):
            continue
        path = f"{layer}/{f}"
        mod = path[:-2]
        for target in inc.findall(open(path).read()):
            tl = target.split('/')[0]
            if tl not in rank:
                continue
            if rank[tl] > rank[layer]:
                bad.append(f"{path} includes {target}: dependencies point down only")
            if layer == 'client' and tl in ('tokens', 'signer') and target != 'signer/signer.h':
                bad.append(f"{path} includes {target}: client/ uses signer/signer.h only")
            tm = target[:-2]
            if tm != mod:
                edges.setdefault(mod, set()).add(tm)
# include cycles between modules (NAME.c and NAME.h are one module)
state = {}
def visit(m, stack):
    state[m] = 1
    for n in sorted(edges.get(m, ())):
        if state.get(n) == 1:
            bad.append("include cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
        elif n not in state:
            visit(n, stack + [n])
    state[m] = 2
for m in sorted(edges):
    if m not in state:
        visit(m, [m])
# every client/*.c has client/NAME.h, or a client header names it
headers = {f: open(f"client/{f}").read() for f in os.listdir('client') if f.endswith('.h')}
for f in sorted(os.listdir('client')):
    if f.endswith('.c') and f[:-2] + '.h' not in headers and \
       not any(re.search(r'\b' + re.escape(f) + r'\b', t) for t in headers.values()):
        bad.append(f"client/{f} has no header of its own and no client header names it")
print("\n".join(bad) if bad else f"{len(edges)} modules, no cycle")
sys.exit(1 if bad else 0)
PY
echo "code-shape: $(wc -l <"$T/tags") functions, none over 60 lines; $(cat "$T/shape")"
