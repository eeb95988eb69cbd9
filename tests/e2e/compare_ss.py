#!/usr/bin/env python3
"""Compares tcpflow.ntp's last snapshot of a flow with `ss -tin`'s view of
the same socket (both taken while the connection idles).

  compare_ss.py SS_OUTPUT TCPFLOW_OUTPUT LOCAL REMOTE [FROM_LINE]

LOCAL and REMOTE are "addr:port" as both print them. Only snapshot lines after
line FROM_LINE of TCPFLOW_OUTPUT count. Prints every compared field; exits 1
on the first difference or when either side lacks the flow."""
import re
import sys

# ss -ti's key -> tcpflow's key; ss leaves out a counter that is zero.
SAME = ["cwnd", "mss", "segs_out", "segs_in", "data_segs_out", "data_segs_in", "bytes_sent", "bytes_acked",
        "bytes_received", "bytes_retrans", "lost", "sacked", "dsack_dups", "reord_seen"]


def ss_fields(text: str, local: str, remote: str) -> dict:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cols = line.split()
        if len(cols) >= 5 and cols[3] == local and cols[4] == remote:
            info = lines[i + 1] if i + 1 < len(lines) else ""
            fields = {}
            for word in info.split():
                key, sep, value = word.partition(":")
                if sep:
                    fields[key] = value
            return fields
    raise SystemExit(f"ss shows no flow {local} {remote}")


def snapshot(text: str, local: str, remote: str, from_line: int) -> dict:
    found = None
    for number, line in enumerate(text.splitlines(), 1):
        cols = line.split()
        if number > from_line and len(cols) > 4 and cols[1] == "periodic" and cols[2] == local and cols[3] == remote:
            found = dict(word.split("=", 1) for word in cols[4:])
    if found is None:
        raise SystemExit(f"tcpflow printed no periodic snapshot of {local} {remote} after line {from_line}")
    return found


def main() -> int:
    ss_path, flow_path, local, remote = sys.argv[1:5]
    from_line = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    ss = ss_fields(open(ss_path).read(), local, remote)
    ours = snapshot(open(flow_path).read(), local, remote, from_line)
    expected = {key: int(ss.get(key, "0")) for key in SAME}
    expected["ooo"] = int(ss.get("rcv_ooopack", "0"))
    expected["retrans"] = int(ss["retrans"].split("/")[1]) if "retrans" in ss else 0
    # rtt:SRTT/RTTVAR and minrtt in ms (%g of microseconds / 1000).
    srtt, rttvar = (float(v) for v in ss["rtt"].split("/"))
    errors = []
    for key, want in expected.items():
        got = int(ours[key])
        print(f"{local} {remote} {key}: ss {want} tcpflow {got}")
        if got != want:
            errors.append(key)
    for key, ms in (("srtt_us", srtt), ("rttvar_us", rttvar), ("min_rtt_us", float(ss.get("minrtt", "0")))):
        got = int(ours[key])
        print(f"{local} {remote} {key}: ss {ms} ms tcpflow {got} us")
        if abs(got - ms * 1000) > max(1.0, ms * 1000 * 1e-5):  # %g keeps 6 digits
            errors.append(key)
    split = int(ours["loss_retrans"]) + int(ours["other_retrans"])
    print(f"{local} {remote} loss_retrans+other_retrans: {split} retrans {ours['retrans']}")
    if split != int(ours["retrans"]):
        errors.append("loss_retrans+other_retrans")
    if errors:
        print("differ: " + " ".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
