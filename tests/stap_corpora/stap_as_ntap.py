#!/usr/bin/env python3
"""`stap` for the corpus files that are shell scripts (compare.py).

Those scripts run `stap OPTIONS...` themselves, often several times, with
their output piped on; compare.py puts this program first on their PATH as
`stap`, so each run is ntap's with the same arguments. Runs ntap can say
nothing meaningful about are not run; each is written as one line to the
file $NTAP_CORPUS_MARKS for compare.py to read:

    guru            a run in guru mode (-g): skipped, as the other corpus files
    compatible V    a run for an older language (--compatible=V below 5)
    option X        ntap has no option X (it refused the command line)
    signal N        ntap was killed by signal N (a crash)

Standard input, standard output and the exit status pass through; ntap's
standard error is passed on after it exits.
"""
import os
import re
import subprocess
import sys

# ntap's own command-line parser says this of an option it does not have.
UNKNOWN_OPTION = re.compile(r"The following arguments? (?:was|were) not expected: (.*)")


def mark(line):
    with open(os.environ["NTAP_CORPUS_MARKS"], "a") as marks:
        marks.write(line + "\n")


# stap's single-letter options that take a value (the next word, or the rest
# of the word).
VALUE_FLAGS = set("epIDcxoLldmTrRBaSsGCZ")


def is_guru(args):
    """Whether a word of single-letter flags (-g, -gup2, -wg) holds -g."""
    words = iter(args)
    for word in words:
        if word.startswith("--") or not re.match(r"-[a-zA-Z]", word):
            continue
        for i, letter in enumerate(word[1:]):
            if letter == "g":
                return True
            if letter in VALUE_FLAGS:
                if i == len(word) - 2:
                    next(words, None)  # the value is the next word
                break
    return False


def main():
    args = sys.argv[1:]
    if is_guru(args):
        mark("guru")
        return 1
    for word in args:
        version = re.match(r"--compatible=(\d+)", word)
        if version and int(version.group(1)) < 5:
            mark("compatible " + word.split("=", 1)[1])
            return 1
    proc = subprocess.run([os.environ["NTAP_CORPUS_NTAP"], *args], stderr=subprocess.PIPE)
    sys.stderr.buffer.write(proc.stderr)
    if proc.returncode < 0:
        mark(f"signal {-proc.returncode}")
        return 128 - proc.returncode
    unknown = UNKNOWN_OPTION.search(proc.stderr.decode("utf-8", "replace"))
    if unknown:
        mark("option " + unknown.group(1).strip())
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
