#!/usr/bin/env python3
"""Runs the conformance suite: every tests/conformance/<area>/<name>.stp case.

    tests/conformance/run.py NTAP_BINARY [--filter TEXT] [--jobs N] [--verbose]

Each case says in its header comments what ntap must do with it (see README.md
beside this file). User-side cases run in parallel; cases that attach kernel
probes and send traffic run one at a time (they need root). Prints one block
per failure with a diff, then "N passed, N failed"; exits 1 on any failure.
Cases marked "# expect-fail: REASON" are known bugs: they are reported as
known and do not fail the run (one that starts passing is reported as fixed).
"""
import argparse
import concurrent.futures
import difflib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SUITE_DIR = Path(__file__).resolve().parent
RUN_TIMEOUT = 30          # seconds for one ntap run without traffic
BEGIN_TIMEOUT = 20        # seconds to wait for a kernel case's first output line
STOP_TIMEOUT = 20         # seconds to wait for ntap to end after SIGINT
DEFAULT_PAYLOAD = 1237    # UDP payload bytes; the dropped skb's len is 8 more (1245)

# "# expect: semantic-error 3:5 message" -> the prefix ntap's diagnostic starts with.
ERROR_PREFIXES = {
    "parse-error": "parse error",
    "semantic-error": "semantic error",
    "compile-error": "compile error",
    "runtime-error": "ERROR",
}
SOURCE_LABEL = "     source: "


class CaseFormatError(Exception):
    pass


@dataclass
class Case:
    path: Path
    expect: str = ""                  # run | pass1 | pass2 | <kind>-error
    line: int = 0                     # for errors: where, and what it says
    col: int = 0
    message: str = ""
    options: list = field(default_factory=list)
    script_args: list = field(default_factory=list)
    status: int = 0
    stderr_contains: list = field(default_factory=list)
    traffic: tuple = None             # (host, port, count, payload)
    expect_fail: str = ""

    @property
    def name(self):
        return str(self.path.relative_to(SUITE_DIR).with_suffix(""))

    @property
    def kernel(self):
        return self.traffic is not None


def parse_header(path):
    """Reads the "# key: value" lines of the case's leading comment block."""
    case = Case(path)
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.startswith("#"):
            if raw.strip():
                break
            continue
        match = re.match(r"#\s*([a-z-]+):\s?(.*)$", raw)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == "expect":
            parse_expect(case, value)
        elif key == "args":
            case.options += shlex.split(value)
        elif key == "script-args":
            case.script_args += value.split()
        elif key == "status":
            case.status = int(value)
        elif key == "stderr":
            case.stderr_contains.append(value)
        elif key == "traffic":
            case.traffic = parse_traffic(value)
        elif key == "expect-fail":
            case.expect_fail = value or "known bug"
    if not case.expect:
        raise CaseFormatError(f"{path}: no '# expect:' line")
    if case.expect == "run" and not case.path.with_suffix(".out").exists():
        raise CaseFormatError(f"{path}: 'expect: {case.expect}' needs {case.path.with_suffix('.out').name}")
    return case


def parse_expect(case, value):
    parts = value.split(None, 2)
    case.expect = parts[0]
    if case.expect in ERROR_PREFIXES:
        if len(parts) < 3 or not re.fullmatch(r"\d+:\d+", parts[1]):
            raise CaseFormatError(f"{case.path}: expected '# expect: {case.expect} LINE:COL MESSAGE'")
        case.line, case.col = (int(n) for n in parts[1].split(":"))
        case.message = parts[2]
        case.status = 1
    elif case.expect not in ("run", "pass1", "pass2"):
        raise CaseFormatError(f"{case.path}: unknown expectation '{case.expect}'")


def parse_traffic(value):
    match = re.fullmatch(r"udp\s+([0-9.]+|\[[0-9a-fA-F:]+\]):(\d+)\s+(\d+)(?:\s+payload=(\d+))?", value)
    if not match:
        raise CaseFormatError(f"traffic must read 'udp HOST:PORT COUNT [payload=BYTES]', not '{value}'")
    host, port, count, payload = match.groups()
    host = host.strip("[]")  # [::1]: IPv6
    return host, int(port), int(count), int(payload or DEFAULT_PAYLOAD)


# ---- running ntap ------------------------------------------------------------

@dataclass
class Outcome:
    status: int
    stdout: str
    stderr: str


def command_for(case, ntap):
    command = [ntap] + case.options
    if case.expect == "pass1":
        command.append("-p1")
    elif case.expect == "pass2" or case.expect in ("parse-error", "semantic-error"):
        # Parse and type errors must be found before anything is translated.
        command.append("-p2")
    elif case.expect == "compile-error":
        command.append("-p3")
    return command + [case.path.name] + case.script_args


def run_user_case(case, ntap):
    try:
        done = subprocess.run(command_for(case, ntap), cwd=case.path.parent, capture_output=True,
                              timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        return Outcome(-1, decode(expired.stdout), decode(expired.stderr) + f"\n(timed out after {RUN_TIMEOUT}s)")
    return Outcome(done.returncode, decode(done.stdout), decode(done.stderr))


def run_kernel_case(case, ntap):
    """Starts ntap, waits for its first output line (the begin probe), sends the
    datagrams inside a private network namespace, then stops ntap with SIGINT."""
    host, port, count, payload = case.traffic
    netns = f"ntap_conf_{os.getpid()}_{int(time.monotonic() * 1000) % 100000}"
    out_path = Path(f"/tmp/{netns}.out")
    err_path = Path(f"/tmp/{netns}.err")
    process = None
    try:
        subprocess.run(["ip", "netns", "add", netns], check=True)
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            process = subprocess.Popen(command_for(case, ntap), cwd=case.path.parent, stdout=out,
                                       stderr=err, stdin=subprocess.DEVNULL)
        if not wait_for_output(process, out_path):
            return finish(process, out_path, err_path, "\n(no begin line: ntap printed nothing)")
        sender = ("import socket,sys\n"
                  "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET,socket.SOCK_DGRAM)\n"
                  "for _ in range(int(sys.argv[3])): s.sendto(b'n'*int(sys.argv[4]),(sys.argv[1],int(sys.argv[2])))\n")
        subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", sender,
                        host, str(port), str(count), str(payload)], check=True, timeout=30)
        time.sleep(0.3)  # the drops are counted synchronously; let ring buffer records arrive
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        return finish(process, out_path, err_path)
    finally:
        if process and process.poll() is None:
            process.kill()
            process.wait()
        subprocess.run(["ip", "netns", "delete", netns], stderr=subprocess.DEVNULL)
        out_path.unlink(missing_ok=True)
        err_path.unlink(missing_ok=True)


def wait_for_output(process, out_path):
    deadline = time.monotonic() + BEGIN_TIMEOUT
    while time.monotonic() < deadline:
        if out_path.stat().st_size > 0:
            return True
        if process.poll() is not None:
            return out_path.stat().st_size > 0
        time.sleep(0.05)
    return False


def finish(process, out_path, err_path, note=""):
    try:
        status = process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        status = process.wait()
        note += f"\n(did not exit within {STOP_TIMEOUT}s of SIGINT)"
    return Outcome(status, decode(out_path.read_bytes()), decode(err_path.read_bytes()) + note)


def decode(data):
    if data is None:
        return ""
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data


# ---- checking ------------------------------------------------------------------

def check(case, outcome):
    """Returns the list of problems (empty when the case passed)."""
    problems = []
    if outcome.status != case.status:
        problems.append(f"exit status {outcome.status}, expected {case.status}")
    if case.expect in ERROR_PREFIXES:
        problems += check_diagnostic(case, outcome.stderr)
    expected_out = case.path.with_suffix(".out")
    if expected_out.exists():
        expected = expected_out.read_text(encoding="utf-8")
        if outcome.stdout != expected:
            diff = difflib.unified_diff(expected.splitlines(True), outcome.stdout.splitlines(True),
                                        "expected", "actual")
            problems.append("stdout differs:\n" + "".join(diff))
    for text in case.stderr_contains:
        if text not in outcome.stderr:
            problems.append(f"stderr lacks '{text}'")
    if problems and outcome.stderr:
        problems.append("stderr:\n" + outcome.stderr)
    return problems


def check_diagnostic(case, stderr):
    """The first diagnostic names the expected FILE:LINE:COL, starts with the
    expected prefix and message, and (for compile-time errors) puts its caret
    under the expected column."""
    problems = []
    prefix = ERROR_PREFIXES[case.expect]
    wanted = f"{prefix}: {case.message}"
    if wanted not in stderr:
        problems.append(f"stderr lacks '{wanted}'")
    where = re.search(r" at (\S+):(\d+):(\d+)", stderr)
    expected_where = f"{case.path.name}:{case.line}:{case.col}"
    if not where:
        problems.append(f"no location in stderr, expected {expected_where}")
    elif where.group(0) != f" at {expected_where}":
        problems.append(f"first location is {where.group(0)[4:]}, expected {expected_where}")
    if case.expect != "runtime-error" and source_line(case.path, case.line).strip():
        lines = stderr.splitlines()
        quoted = [i for i, text in enumerate(lines[:-1]) if text.startswith(SOURCE_LABEL)]
        if not quoted:
            problems.append("the source line is not quoted")
        else:
            caret = lines[quoted[0] + 1].find("^") - len(SOURCE_LABEL) + 1
            if caret != case.col:
                problems.append(f"caret under column {caret}, expected {case.col}")
    return problems


def source_line(path, line):
    """The script's line LINE, or "" past the end (an error at end of file)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def run_case(case, ntap):
    outcome = run_kernel_case(case, ntap) if case.kernel else run_user_case(case, ntap)
    return case, check(case, outcome)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ntap")
    parser.add_argument("--filter", default="", help="run only cases whose name contains TEXT")
    parser.add_argument("--jobs", "-j", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case's result")
    options = parser.parse_args()
    ntap = str(Path(options.ntap).resolve())
    if not os.access(ntap, os.X_OK):
        sys.exit(f"not an executable: {options.ntap}")

    cases, malformed = [], []
    for path in sorted(SUITE_DIR.glob("*/*.stp")):
        if options.filter not in str(path.relative_to(SUITE_DIR)):
            continue
        try:
            cases.append(parse_header(path))
        except (CaseFormatError, ValueError) as error:
            malformed.append(str(error))
    if any(case.kernel for case in cases) and os.geteuid() != 0:
        sys.exit("kernel cases need root (they load BPF programs and create network namespaces)")

    started = time.monotonic()
    results = []
    user_cases = [case for case in cases if not case.kernel]
    with concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs) as pool:
        results += pool.map(lambda case: run_case(case, ntap), user_cases)
    results += [run_case(case, ntap) for case in cases if case.kernel]

    passed = failed = known = fixed = 0
    for error in malformed:
        print(f"FAIL  malformed case: {error}")
        failed += 1
    for case, problems in sorted(results, key=lambda result: result[0].name):
        if case.expect_fail:
            if problems:
                known += 1
                if options.verbose:
                    print(f"KNOWN {case.name}: {case.expect_fail}")
            else:
                fixed += 1
                print(f"FIXED {case.name} passes now: remove its 'expect-fail' line")
            continue
        if problems:
            failed += 1
            print(f"FAIL  {case.name} ({case.expect})")
            for problem in problems:
                print("      " + problem.replace("\n", "\n      | ").rstrip("| "))
        else:
            passed += 1
            if options.verbose:
                print(f"PASS  {case.name}")
    print(f"({known} known failures, {fixed} fixed known failures, {time.monotonic() - started:.1f}s)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
