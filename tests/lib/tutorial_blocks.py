#!/usr/bin/python3
"""Extract the README tutorial's shell blocks, for tests/t/unattended-tutorial.sh.

    tutorial_blocks.py README.md OUTDIR

Reads the section "## Tutorial..." up to the next "## " heading and writes each
```sh block into OUTDIR/NN-HOST.sh, in order, as written. The first line of every
block names its host: "# on the surrogate", "# on the internal host" or "# on every
host" (written once per host, surrogate first). A block of exports only is the
environment of every host: it is put in front of each later block, as a reader
would keep it in each host's shell. Prints the files written, one per line. Exits 1
when the tutorial has no block, or a block names no host.
"""
import os
import re
import sys

readme, out = sys.argv[1], sys.argv[2]
text = open(readme, encoding="utf-8").read()
m = re.search(r"^## Tutorial.*?$(.*?)(?=^## )", text, re.S | re.M)
if not m:
    sys.exit("tutorial_blocks.py: no '## Tutorial' section in " + readme)
blocks = re.findall(r"^[ \t]*```sh\n(.*?)^[ \t]*```", m.group(1), re.S | re.M)
if not blocks:
    sys.exit("tutorial_blocks.py: no sh blocks in the tutorial")
HOSTS = {"the surrogate": ["surrogate"], "the internal host": ["internal"],
         "every host": ["surrogate", "internal"]}
prelude, n = "", 0
os.makedirs(out, exist_ok=True)
for b in blocks:
    lines = b.splitlines()
    # the indentation of a block inside a list item
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    lines = [l[indent:] for l in lines]
    hm = re.match(r"# on (the surrogate|the internal host|every host)", lines[0])
    if not hm:
        sys.exit("tutorial_blocks.py: a block names no host: " + lines[0])
    body = "\n".join(lines) + "\n"
    code = [l for l in lines[1:] if l.strip() and not l.lstrip().startswith("#")]
    if code and all(l.startswith("export ") for l in code):
        prelude += body
        continue
    for host in HOSTS[hm.group(1)]:
        n += 1
        path = os.path.join(out, "%02d-%s.sh" % (n, host))
        with open(path, "w") as f:
            f.write(prelude + body)
        print(path)
