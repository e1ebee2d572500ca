#!/usr/bin/python3
"""Checks that a network spec compiles, or fails to compile with the right message.

  check_spec.py CXX INCLUDE_DIR SPEC.cpp
  check_spec.py --self-test CXX INCLUDE_DIR      (proves this driver can fail)

The spec file says what to expect in comment lines:
  // expect-ok                 the spec must compile
  // expect-fail               the spec must fail to compile, through RESGEN_CHECK_SPEC
  // expect: SUBSTRING         (with expect-fail, one or more) the compiler's diagnostics must
                               contain SUBSTRING, e.g. the block and both shapes

Runs `CXX -std=c++20 -fsyntax-only -I INCLUDE_DIR SPEC.cpp`. A failing spec passes only if the
compilation fails, the failure is the resgen spec check (not a typo or a missing header), and
every expected substring is in the diagnostics. Lines where the compiler echoes source code
(`   12 | ...`) are left out of the search, so the expect comments cannot match themselves.
DESIGN.md section 6: a WILL_FAIL test passes on any failure and so cannot fail; this one can.
"""
import os
import re
import subprocess
import sys
import tempfile

# What the compiler prints when RESGEN_CHECK_SPEC rejects a spec (check.hpp).
SPEC_CHECK_MARKERS = ("SpecCheck<", "the network spec has a shape error")
SOURCE_ECHO = re.compile(r"^\s*\d*\s*\|")


def parse_expectations(text):
    mode, expects = None, []
    for line in text.splitlines():
        s = line.strip()
        if s == "// expect-ok":
            mode = mode or "ok"
            if mode != "ok":
                raise ValueError("both // expect-ok and // expect-fail")
        elif s == "// expect-fail":
            mode = mode or "fail"
            if mode != "fail":
                raise ValueError("both // expect-ok and // expect-fail")
        elif s.startswith("// expect:"):
            value = s[len("// expect:"):].strip()
            if not value:
                raise ValueError("empty // expect: line")
            expects.append(value)
    if mode is None:
        raise ValueError("no // expect-ok or // expect-fail line")
    if mode == "fail" and not expects:
        raise ValueError("// expect-fail needs at least one // expect: SUBSTRING line")
    if mode == "ok" and expects:
        raise ValueError("// expect: lines make no sense with // expect-ok")
    return mode, expects


def compile_spec(cxx, include, spec):
    cmd = [cxx, "-std=c++20", "-fsyntax-only", "-fdiagnostics-color=never", "-I", include, spec]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return cmd, None, "compiler timed out after 300 s"
    return cmd, r.returncode, r.stdout + r.stderr


def check(cxx, include, spec, out=print):
    """Returns True when SPEC.cpp behaves as its comments say; prints one line per check."""
    name = os.path.basename(spec)
    with open(spec, encoding="utf-8") as f:
        try:
            mode, expects = parse_expectations(f.read())
        except ValueError as e:
            out(f"FAIL {name}: malformed spec test: {e}")
            return False
    cmd, rc, diag = compile_spec(cxx, include, spec)
    ok = True
    if rc is None:
        out(f"FAIL {name}: {diag}")
        return False
    if mode == "ok":
        if rc == 0:
            out(f"ok   {name}: compiles, as expected")
        else:
            out(f"FAIL {name}: expected to compile, but `{' '.join(cmd)}` exited {rc}")
            ok = False
    else:
        if rc == 0:
            out(f"FAIL {name}: expected a compile error, but it compiled")
            return False
        out(f"ok   {name}: compilation fails (exit {rc}), as expected")
        searched = "\n".join(l for l in diag.splitlines() if not SOURCE_ECHO.match(l))
        if any(m in searched for m in SPEC_CHECK_MARKERS):
            out(f"ok   {name}: the failure is RESGEN_CHECK_SPEC's shape error")
        else:
            out(f"FAIL {name}: the compile error is not RESGEN_CHECK_SPEC's (a typo, a missing header?)")
            ok = False
        message = next((l for l in searched.splitlines() if "Verdict{false" in l), None)
        for e in expects:
            if e in searched:
                out(f"ok   {name}: diagnostics name {e!r}")
            else:
                out(f"FAIL {name}: diagnostics do not contain {e!r}")
                ok = False
        if message and not ok:
            out(f"     the spec check's message: {message.strip()}")
    if not ok:
        out(f"---- compiler output of {name} ----\n{diag.rstrip()}\n----")
    return ok


SELF_TESTS = {
    # A typo: fails to compile, but not through the spec check; must not pass as a "bad spec".
    "typo.cpp": """// expect-fail
// expect: block layer1.0
#include "resgen/dsl.hpp"
using namespace resgen::dsl;
constexpr Network typo() {
  Network net("typo", Shape{3, 8, 8});
  net.set_block("layer1.0");
  net.conv2d(net.input(), "layer1.0.conv1", 16, 3, 1, 1, 1, true, extra);
  return net;
}
RESGEN_CHECK_SPEC(typo());
""",
    # A real shape error, but the expected shape is wrong (16x8x8 vs the real 32x8x8).
    "wrong_expect.cpp": """// expect-fail
// expect: block layer1.0
// expect: 99x8x8
#include "resgen/dsl.hpp"
using namespace resgen::dsl;
constexpr Network wrong_expect() {
  Network net("wrong_expect", Shape{16, 8, 8});
  net.set_block("layer1.0");
  Value y = net.conv2d(net.input(), "layer1.0.conv1", 32, 3, 1, 1);
  net.add(y, net.input(), "layer1.0.add");
  return net;
}
RESGEN_CHECK_SPEC(wrong_expect());
""",
    # A good spec claimed to be bad.
    "compiles.cpp": """// expect-fail
// expect: block
#include "resgen/dsl.hpp"
using namespace resgen::dsl;
constexpr Network compiles() {
  Network net("compiles", Shape{16, 8, 8});
  net.conv2d(net.input(), "conv1", 16, 3, 1, 1);
  return net;
}
RESGEN_CHECK_SPEC(compiles());
""",
    # A bad spec claimed to be good.
    "claims_ok.cpp": """// expect-ok
#include "resgen/dsl.hpp"
using namespace resgen::dsl;
constexpr Network claims_ok() {
  Network net("claims_ok", Shape{16, 8, 8});
  net.conv2d(net.input(), "conv1", 16, 9);
  return net;
}
RESGEN_CHECK_SPEC(claims_ok());
""",
    # No expectations at all.
    "no_expect.cpp": """// expect-fail
#include "resgen/dsl.hpp"
""",
}


def self_test(cxx, include):
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for fname, text in SELF_TESTS.items():
            path = os.path.join(tmp, fname)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            lines = []
            passed = check(cxx, include, path, out=lines.append)
            if passed:
                ok = False
                print(f"FAIL self-test {fname}: the driver accepted it:\n  " + "\n  ".join(lines))
            else:
                first = next((l for l in lines if l.startswith("FAIL")), "?")
                print(f"ok   self-test {fname}: the driver rejects it ({first})")
    return ok


def main(argv):
    if len(argv) == 4 and argv[1] == "--self-test":
        return 0 if self_test(argv[2], argv[3]) else 1
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if check(argv[1], argv[2], argv[3]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
