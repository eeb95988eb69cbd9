#!/usr/bin/env python3
"""run_on_go.py FIFO SCRIPT ARGS...: start now, run SCRIPT later.

Prints "ready" once the interpreter is up, waits for a line on FIFO, then runs
SCRIPT with ARGS in this interpreter (as `python3 SCRIPT ARGS` would). A test
that must make its traffic within a short window (ntap -T) starts it ahead
with this: on a loaded machine the interpreter's startup alone can take
seconds; the traffic itself takes milliseconds.
"""
import runpy
import sys

fifo, script = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
print("ready", flush=True)
with open(fifo) as go:
    go.readline()
runpy.run_path(script, run_name="__main__")
