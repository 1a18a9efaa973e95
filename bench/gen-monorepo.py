#!/usr/bin/env python3
"""Make a deterministic monorepo with per-package releases.

    gen-monorepo.py DIR [--commits N] [--packages P] [--fixed F] [--release-every K] [--seed S]

Packages p00..p(P-1) live in packages/<name>/ with a Cargo.toml each; p01
depends on p00 (a path dependency with a version). F more packages f1..fF
form a fixed group `fx` released under `fx-v<version>`. Each commit
changes files of one package (sometimes two, sometimes only root files
that belong to none) with a Conventional Commit message. Now and then a
package (or the group) that is due is released: a tag `<name>-v<version>`
at that commit, its version decided the way trainyard's defaults decide it
(breaking -> major, feat -> minor, any other commit -> patch, the first
release 0.1.0), and a dependent is due at least a patch when its
dependency is due or was released since the dependent's last release.

Writes trainyard.yaml at the root, and DIR/.git/expected-releases.tsv with
one row per release: unit, tag, previous tag of that unit (or empty), and
the unit's paths separated by spaces.
"""
import argparse, os, random, subprocess, sys

ORDER = {"none": 0, "patch": 1, "minor": 2, "major": 3}
TYPES = [("feat", 20), ("fix", 30), ("docs", 10), ("chore", 15), ("refactor", 10), ("perf", 5), ("test", 10)]
WORDS = "add handle keep retry validate render speed avoid fix parse cache split merge order".split()


def message(rng):
    kind = rng.choices([t for t, _ in TYPES], [w for _, w in TYPES])[0]
    breaking = kind in ("feat", "fix") and rng.random() < 0.01
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
    text = kind + ("!" if breaking else "") + ": " + subject
    if breaking:
        return text, "major"
    return text, "minor" if kind == "feat" else "patch"


def bumped(version, level):
    if version is None:
        return (0, 1, 0)
    major, minor, patch = version
    if level == "major":
        return (major + 1, 0, 0)
    if level == "minor":
        return (major, minor + 1, 0)
    return (major, minor, patch + 1)


def stronger(a, b):
    return a if ORDER[a] >= ORDER[b] else b


class Unit:
    def __init__(self, name, dirs):
        self.name, self.dirs = name, dirs
        self.version, self.pending, self.last_tag = None, "none", None
        self.deps, self.deps_at_release = [], {}

    def effective(self):
        """The bump this unit is due, as trainyard decides it: its own, or
        a patch passed on by a dependency that is due or was released
        since this unit's last release."""
        if self.pending != "none":
            return self.pending
        for dep in self.deps:
            if dep.effective() != "none":
                return "patch"
            moved = self.deps_at_release.get(dep.name) != dep.version
            if self.version is not None and dep.version is not None and moved:
                return "patch"
        return "none"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--commits", type=int, default=400)
    ap.add_argument("--packages", type=int, default=3)
    ap.add_argument("--fixed", type=int, default=2)
    ap.add_argument("--release-every", type=int, default=12)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    names = ["p%02d" % i for i in range(a.packages)]
    fixed = ["f%d" % (i + 1) for i in range(a.fixed)]
    units = [Unit(n, ["packages/" + n]) for n in names]
    if fixed:
        units.append(Unit("fx", ["packages/" + f for f in fixed]))
    if len(names) > 1:
        units[1].deps.append(units[0])
    unit_of_dir = {d: u for u in units for d in u.dirs}
    dirs = [d for u in units for d in u.dirs]

    os.makedirs(a.dir, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", a.dir], check=True)
    fi = subprocess.Popen(["git", "-C", a.dir, "fast-import", "--quiet"], stdin=subprocess.PIPE)
    out = fi.stdin

    def w(s):
        out.write(s.encode() if isinstance(s, str) else s)

    def inline(path, text):
        data = text.encode()
        w("M 100644 inline %s\ndata %d\n" % (path, len(data)))
        w(data)
        w("\n")

    t = 1700000000
    expected = []
    for n in range(1, a.commits + 1):
        t += rng.randint(60, 3600)
        stamp = "author Ada <ada@example.org> %d +0000\ncommitter Ada <ada@example.org> %d +0000\n" % (t, t)
        if n == 1:
            text, bump = "chore: start the monorepo", "patch"
            touched = dirs
        else:
            text, bump = message(rng)
            roll = rng.random()
            if roll < 0.1:
                touched = []
            elif roll < 0.15:
                touched = rng.sample(dirs, 2)
            else:
                touched = [rng.choice(dirs)]
        w("commit refs/heads/main\nmark :%d\n%s" % (n, stamp))
        msg = text.encode()
        w("data %d\n" % len(msg))
        w(msg)
        w("\n")
        if n > 1:
            w("from :%d\n" % (n - 1))
        if n == 1:
            for d in dirs:
                name = d.split("/")[-1]
                toml = '[package]\nname = "%s"\nversion = "0.0.0"\n' % name
                if len(names) > 1 and name == names[1]:
                    toml += '\n[dependencies]\n%s = { path = "../%s", version = "0.0.0" }\n' % (names[0], names[0])
                inline(d + "/Cargo.toml", toml)
            inline("README.md", "a monorepo\n")
        if not touched:
            inline("docs/notes%d.md" % rng.randint(0, 50), "note %d\n" % n)
        for d in touched:
            inline("%s/src/file%d.txt" % (d, rng.randint(0, 40)), "line %d %s\n" % (n, text))
        for d in touched:
            unit = unit_of_dir[d]
            unit.pending = stronger(unit.pending, bump)
        if n > 1 and rng.random() < 1.0 / a.release_every:
            due = [u for u in units if u.effective() != "none"]
            if due:
                unit = rng.choice(due)
                version = bumped(unit.version, unit.effective())
                tag = "%s-v%d.%d.%d" % ((unit.name,) + version)
                w("reset refs/tags/%s\nfrom :%d\n\n" % (tag, n))
                expected.append((unit.name, tag, unit.last_tag or "", " ".join(unit.dirs)))
                unit.version, unit.pending, unit.last_tag = version, "none", tag
                unit.deps_at_release = {d.name: d.version for d in unit.deps}
    out.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", a.dir, "checkout", "-q", "main"], check=True)
    config = ["packages:"]
    for name in names + fixed:
        config += ["  - name: %s" % name, "    path: packages/%s" % name]
    if fixed:
        config += ["groups:", "  - name: fx", "    kind: fixed",
                   "    members: [%s]" % ", ".join(fixed), '    tag_format: "fx-v{version}"']
    config += ["changelog:", "  groups:", "    - group: changed", ""]
    with open(os.path.join(a.dir, "trainyard.yaml"), "w") as f:
        f.write("\n".join(config))
    with open(os.path.join(a.dir, ".git", "expected-releases.tsv"), "w") as f:
        for row in expected:
            f.write("\t".join(row) + "\n")
    print("%s: %d commits, %d packages, %d releases" % (a.dir, a.commits, len(units), len(expected)))


if __name__ == "__main__":
    main()
