#!/usr/bin/env python3
"""Compares ntap with SystemTap's own parse and elaboration corpora.

    tests/stap_corpora/compare.py NTAP_BINARY STAP_TESTSUITE [--corpus NAME]...
                                  [--jobs N] [--timeout S] [--verbose]

STAP_TESTSUITE is the `testsuite` directory of a SystemTap checkout (or the
checkout itself). Its corpora say what stap does with each script:

    parseok/  `stap -p1` succeeds          parseko/  `stap -p1` fails
    semok/    `stap -p2` succeeds          semko/    `stap -p2` fails

The scripts are not part of this tree (they are SystemTap's); this runner only
reads them from the given directory. Each file is first classified: a script
stap runs with `#! stap OPTIONS` is run as `ntap OPTIONS FILE` with the
options ntap shares with stap; files ntap cannot say anything meaningful about
(embedded C, guru mode, an older language version, staprun) are skipped with
the reason. A file that is a shell script running stap itself is run as
SystemTap's harness runs it, its exit status the outcome, with ntap as the
`stap` on its PATH (stap_as_ntap.py): a run it makes in guru mode, for an
older language or with an option ntap does not have makes the file skipped
with that reason.
An applicable file agrees when ntap's outcome is the corpus's: exit 0 for the
"ok" corpora, exit 1 with an error message for the "ko" ones (for a shell
script, any failing exit status); a crash (a signal) or a timeout never
agrees. Prints one table per corpus and every
disagreement with ntap's first error line; exits 0 (the numbers are the
result, see docs/conformance.md).
"""
import argparse
import concurrent.futures
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

CORPORA = {  # name: (pass, stap's expected outcome)
    "parseok": (1, "ok"),
    "parseko": (1, "ko"),
    "semok": (2, "ok"),
    "semko": (2, "ko"),
}

# stap's single-letter flags ntap has with the same meaning; others make the
# file inapplicable (below) or are dropped with a reason.
# stap's -u is --unoptimized (keep unused functions, no elision): ntap's -u.
SHARED_FLAGS = {"w": "-w", "W": "-W", "v": "-v", "u": "-u"}


@dataclass
class Verdict:
    path: Path
    skip: str = ""          # why the file is not applicable
    outcome: str = ""       # ok | ko | crash | timeout
    agree: bool = False
    detail: str = ""        # ntap's first error line, or what went wrong
    note: str = ""          # options dropped on the way


def stap_command_line(text):
    """The stap options a corpus file is run with, or None for a shell script.

    Most files start `#! stap -p2 ...`; a few are bash scripts that re-run
    themselves through stap (`//bin/true && exec stap OPTIONS $0`), which is
    the same thing with a longer option list."""
    lines = text.splitlines()
    first = lines[0] if lines else ""
    match = re.match(r"#!\s*stap\s+(.*)$", first)
    if match:
        return shlex.split(match.group(1))
    for line in lines[1:4]:
        match = re.match(r"//bin/true && exec stap (.*)\$0", line)
        if match:
            return shlex.split(match.group(1))
    return None


def translate_options(options):
    """stap OPTIONS -> (ntap options, skip reason, note).

    A combined flag word such as `-u -wp2` or `-gup2` is read letter by
    letter, as stap's getopt does."""
    out, notes = [], []
    flags = set()
    i = 0
    while i < len(options):
        word = options[i]
        i += 1
        if word.startswith("--"):
            name, _, value = word[2:].partition("=")
            if name == "compatible":
                # ntap speaks only the current language; an older version
                # changes what parses (autocast, operators), so the file's
                # expected outcome does not apply.
                return None, "needs an older language (--compatible)", ""
            if name == "disable-cache":
                continue  # ntap keeps no cache: the option changes nothing
            return None, f"stap option {word}", ""
        if not word.startswith("-"):
            break
        letters = word[1:]
        j = 0
        while j < len(letters):
            letter = letters[j]
            j += 1
            if letter == "p":
                digits = letters[j:] or (options[i] if i < len(options) else "")
                if not letters[j:]:
                    i += 1
                j = len(letters)
                out += ["-p", digits]
            elif letter in SHARED_FLAGS:
                out.append(SHARED_FLAGS[letter])
            elif letter == "g":
                flags.add(letter)
            else:
                return None, f"stap option -{letter}", ""
    if "g" in flags:
        return None, "guru mode (-g)", ""
    return out, "", ", ".join(notes)


# Files the testsuite's own harness (systemtap.pass1-4/CORPUS.exp) leaves
# untested on a system like this one, with its reason.
UNTESTED = {
    ("semko", "utrace.stp"): "untested where process probes exist (semko.exp: utrace_p)",
}


def classify(path, corpus):
    """Decides whether a corpus file is applicable; returns the ntap options."""
    if (corpus, path.name) in UNTESTED:
        return None, UNTESTED[(corpus, path.name)], "", ""
    text = path.read_bytes().decode("utf-8", errors="replace")
    if re.search(r"%\{|%\}", text):
        return None, "embedded C (%{ %})", "", text
    options = stap_command_line(text)
    if options is None:
        if re.search(r"^\s*staprun\b", text, re.M):
            return None, "runs staprun (stap's module loader; ntap loads no module)", "", text
        return SHELL_SCRIPT, "", "", text
    ntap_options, reason, note = translate_options(options)
    if reason:
        return None, reason, "", text
    return ntap_options, "", note, text


def first_error(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    for line in lines:
        if "error" in line.lower():
            return line.strip()
    return lines[0].strip() if lines else ""


# classify()'s options for a shell script that runs stap itself.
SHELL_SCRIPT = ["(shell script)"]

# What stap_as_ntap.py marks a run it did not make, or that crashed, with.
MARK_REASONS = {
    "guru": "guru mode (-g)",
    "compatible": "needs an older language (--compatible)",
    "option": "stap option ntap does not have",
}


def judge_shell_script(ntap, path, corpus, timeout, shim_dir):
    """Runs a shell-script corpus file with ntap as its `stap`."""
    verdict = Verdict(path)
    expected = CORPORA[corpus][1]
    interpreter = path.read_text(errors="replace").splitlines()[0][2:].split()
    # The files were written where /bin/sh is bash (bz11911 uses its
    # `function` keyword): run them with bash, as their authors did.
    if interpreter and interpreter[0] == "/bin/sh":
        interpreter[0] = "/bin/bash"
    with tempfile.NamedTemporaryFile("r", prefix="ntap-corpus-marks-") as marks:
        env = dict(os.environ, PATH=f"{shim_dir}:{os.environ.get('PATH', '')}",
                   NTAP_CORPUS_NTAP=ntap, NTAP_CORPUS_MARKS=marks.name,
                   SRCDIR=str(path.parent.parent.parent))
        try:
            proc = subprocess.run([*interpreter, path.name], cwd=path.parent, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired:
            verdict.outcome, verdict.detail = "timeout", f"no result after {timeout} s"
            return verdict
        marked = marks.read().splitlines()
    for line in marked:
        kind, _, what = line.partition(" ")
        if kind == "signal":
            verdict.outcome, verdict.detail = "crash", f"ntap killed by signal {what}"
            return verdict
    for line in marked:
        kind, _, what = line.partition(" ")
        verdict.skip = MARK_REASONS[kind] + (f" {what}" if kind == "option" else "")
        return verdict
    verdict.outcome = "ok" if proc.returncode == 0 else "ko"
    verdict.detail = "accepted" if proc.returncode == 0 else (
        f"exit {proc.returncode}: " + (first_error(proc.stderr) or "no diagnostic"))
    verdict.agree = verdict.outcome == expected
    return verdict


def judge(ntap, path, corpus, timeout, shim_dir):
    options, skip, note, _ = classify(path, corpus)
    verdict = Verdict(path, skip=skip, note=note)
    if skip:
        return verdict
    if options is SHELL_SCRIPT:
        return judge_shell_script(ntap, path, corpus, timeout, shim_dir)
    stap_pass, expected = CORPORA[corpus]
    if "-p" not in options:
        options = ["-p", str(stap_pass)] + options
    try:
        proc = subprocess.run([ntap, *options, path.name], cwd=path.parent,
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        verdict.outcome, verdict.detail = "timeout", f"no result after {timeout} s"
        return verdict
    if proc.returncode < 0:
        verdict.outcome = "crash"
        verdict.detail = f"killed by signal {-proc.returncode}: " + first_error(proc.stderr)
    elif proc.returncode == 0:
        verdict.outcome = "ok"
        verdict.detail = "accepted"
    else:
        verdict.outcome = "ko"
        verdict.detail = first_error(proc.stderr)
        if proc.returncode != 1:
            verdict.detail = f"exit {proc.returncode}: " + verdict.detail
        if not verdict.detail:
            verdict.detail = "failed without a diagnostic"
    verdict.agree = (verdict.outcome == expected and
                     (expected == "ok" or (proc.returncode == 1 and
                                           "error" in proc.stderr)))
    return verdict


def find_testsuite(root):
    root = Path(root)
    for candidate in (root, root / "testsuite"):
        if all((candidate / name).is_dir() for name in CORPORA):
            return candidate
    sys.exit(f"{root}: no parseok/parseko/semok/semko directories here")


def report(corpus, verdicts, verbose):
    applicable = [v for v in verdicts if not v.skip]
    agree = [v for v in applicable if v.agree]
    skipped = Counter(v.skip for v in verdicts if v.skip)
    print(f"\n## {corpus}: {len(verdicts)} files, {len(applicable)} applicable, "
          f"{len(agree)} agree, {len(applicable) - len(agree)} disagree, "
          f"{sum(skipped.values())} skipped")
    for reason, count in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  skipped {count:4}  {reason}")
    for v in applicable:
        if not v.agree:
            note = f" [{v.note}]" if v.note else ""
            print(f"  DISAGREE {v.path.name}: {v.outcome}: {v.detail}{note}")
    if verbose:
        for v in verdicts:
            if v.skip:
                print(f"  skip {v.path.name}: {v.skip}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ntap")
    parser.add_argument("testsuite")
    parser.add_argument("--corpus", action="append", choices=sorted(CORPORA))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args()
    ntap = os.path.abspath(args.ntap)
    testsuite = find_testsuite(args.testsuite)
    totals = Counter()
    # The `stap` the shell-script files run.
    shim_dir = tempfile.TemporaryDirectory(prefix="ntap-corpus-stap-")
    os.symlink(Path(__file__).resolve().parent / "stap_as_ntap.py", Path(shim_dir.name) / "stap")
    for corpus in args.corpus or list(CORPORA):
        files = sorted(p for p in (testsuite / corpus).iterdir()
                       if p.is_file() and p.suffix == ".stp")
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            verdicts = list(pool.map(
                lambda p: judge(ntap, p, corpus, args.timeout, shim_dir.name), files))
        report(corpus, verdicts, args.verbose)
        applicable = [v for v in verdicts if not v.skip]
        totals["applicable"] += len(applicable)
        totals["agree"] += sum(v.agree for v in applicable)
    print(f"\ntotal: {totals['applicable']} applicable, {totals['agree']} agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
