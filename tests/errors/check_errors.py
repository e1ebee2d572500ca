#!/usr/bin/python3
"""Bad inputs to the resgen command line: each must give a clear one-line `error: ...` on stderr
that names the thing at fault, and exit 1 or 2 (never a crash, never a signal).

  check_errors.py RESGEN [-k SUBSTRING]

DESIGN.md sections 3 and 4. Makes a valid cifar_resnet20 weights file with the reference model
(tests/reference/resnet_reference.py, or ../shared/reference), then corrupts copies of it, and
runs `resgen run` / `resgen generate` / the other subcommands on them. `resgen run` caches its
library in $RESGEN_CACHE (CTest passes the shared test cache), so only the first run of a
build generates cifar_resnet20 (3x32x32, and 4x32x32 for the wrong-channel case).

Prints one line per check; exits 1 if any check failed.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NET = "cifar_resnet20"

sys.path.insert(0, os.path.join(HERE, "..", "network"))
from check_network import reference_module  # noqa: E402


# --- safetensors, written here so that every field can be made wrong ---------------------------

NP_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def safetensors_bytes(tensors, dtypes=None, header_extra=None):
    """tensors: name -> numpy array. dtypes: name -> safetensors dtype (default F32)."""
    dtypes = dtypes or {}
    header, blobs, offset = {}, [], 0
    for key, a in tensors.items():
        dt = dtypes.get(key, "F32")
        data = np.ascontiguousarray(a).astype(NP_DTYPES[dt]).tobytes()
        header[key] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if header_extra:
        header.update(header_extra)
    raw = json.dumps(header).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"".join(blobs)


def split(raw):
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def join(header_bytes, data):
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + data


def edit_header(raw, edit):
    """A copy of a safetensors file with its JSON header changed by edit(header_dict)."""
    header, data = split(raw)
    edit(header)
    return join(json.dumps(header).encode(), data)


def duplicate_key(raw, key):
    """A copy whose header names `key` twice (JSON allows it; safetensors does not)."""
    header, data = split(raw)
    text = json.dumps(header).encode()
    return join(text[:-1] + b", " + json.dumps(key).encode() + b": " + json.dumps(header[key]).encode() + b"}", data)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


# --- the checks ---------------------------------------------------------------------------------


class Checker:
    def __init__(self, resgen, tmp, only=None):
        self.resgen, self.tmp, self.only = resgen, tmp, only
        self.failures, self.count = [], 0

    def path(self, name):
        return os.path.join(self.tmp, name)

    def _run(self, args, timeout):
        try:
            r = subprocess.run([self.resgen] + args, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, "", f"timed out after {timeout} s"
        return r.returncode, r.stdout, r.stderr

    def _report(self, title, problems, args, rc, out, err):
        self.count += 1
        if problems:
            self.failures.append(title)
            print(f"FAIL {title}: " + "; ".join(problems))
            print(f"     resgen {' '.join(args)}\n     exit {rc}\n     stdout: {out.strip()[-600:]!r}\n"
                  f"     stderr: {err.strip()[-1500:]!r}")
        else:
            line = next((l for l in err.splitlines() if l.startswith("error:")), "")
            print(f"ok   {title}" + (f": exit {rc}, {line}" if line else f": exit {rc}"))

    def error(self, title, args, names, output=None, timeout=600):
        """`resgen ARGS` must fail cleanly: exit 1 or 2, an `error:` line naming every NAMES."""
        if self.only and self.only not in title:
            return
        if output and os.path.exists(output):
            os.remove(output)
        rc, out, err = self._run(args, timeout)
        problems = []
        if rc is None:
            problems.append(err)
        elif rc < 0:
            problems.append(f"killed by signal {-rc} (a crash)")
        elif rc not in (1, 2):
            problems.append(f"exit status {rc}, expected 1 or 2")
        error_lines = [l for l in err.splitlines() if l.startswith("error:")]
        if rc is not None and not error_lines:
            problems.append("no line starting with 'error:' on stderr")
        text = "\n".join(error_lines)
        for n in names:
            if n not in text:
                problems.append(f"the error line does not name {n!r}")
        if output and os.path.exists(output):
            problems.append(f"a failed run left an output file {output}")
        self._report(title, problems, args, rc, out, err)

    def success(self, title, args, stdout_has=(), output=None, timeout=600):
        """`resgen ARGS` must succeed (exit 0) without an error line."""
        if self.only and self.only not in title:
            return
        if output and os.path.exists(output):
            os.remove(output)
        rc, out, err = self._run(args, timeout)
        problems = []
        if rc != 0:
            problems.append(f"exit status {rc}, expected 0")
        if any(l.startswith("error:") for l in err.splitlines()):
            problems.append("an 'error:' line on stderr")
        for s in stdout_has:
            if s not in out:
                problems.append(f"stdout lacks {s!r}")
        if output and rc == 0:
            if not os.path.exists(output):
                problems.append(f"no output file {output}")
            else:
                y = np.load(output)
                if y.dtype != np.float32 or y.ndim != 2 or not np.all(np.isfinite(y)):
                    problems.append(f"output {output}: {y.dtype} {y.shape}, expected finite float32 N,K")
        self._report(title, problems, args, rc, out, err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("resgen")
    ap.add_argument("-k", dest="only", help="run only the checks whose title contains this")
    args = ap.parse_args()
    resgen = os.path.abspath(args.resgen)
    ref = reference_module()

    tmp = tempfile.mkdtemp(prefix="resgen_errors_")
    try:
        c = Checker(resgen, tmp, args.only)
        P = c.path
        model = ref.build(NET, seed=0)
        sd = {k: v.detach().numpy().astype(np.float32) for k, v in ref.state_dict_f32(model).items()}
        good = write(P("good.safetensors"), safetensors_bytes(sd))
        rng = np.random.RandomState(0)
        x = write_npy(P("x.npy"), rng.randn(2, 3, 32, 32).astype(np.float32))
        y = P("y.npy")

        def run(weights, inp=x, *extra):
            return ["run", NET, "--weights", weights, "--input", inp, "--output", y, *extra]

        # The baseline: the good files work (and the library is generated and cached here).
        c.success("run: good weights and input", run(good), output=y)

        # --- weights files --------------------------------------------------------------------
        missing_key = "layer2.1.bn2.running_var"
        w = dict(sd)
        del w[missing_key]
        c.error("run: weights missing a key", run(write(P("missing.safetensors"), safetensors_bytes(w))),
                [missing_key, "missing"], output=y)

        w = dict(sd)
        w["layer3.0.conv1.weight"] = np.zeros((64, 32, 3, 1), np.float32)
        c.error("run: weights with a wrong shape",
                run(write(P("shape.safetensors"), safetensors_bytes(w))),
                ["layer3.0.conv1.weight", "[64, 32, 3, 1]", "[64, 32, 3, 3]"], output=y)

        w = dict(sd)
        w["fc.weight"] = sd["fc.weight"].T.copy()  # the transposed linear weight: 64x10, not 10x64
        c.error("run: weights with a transposed fc", run(write(P("fc_t.safetensors"), safetensors_bytes(w))),
                ["fc.weight", "[64, 10]", "[10, 64]"], output=y)

        c.error("run: weights with dtype F64",
                run(write(P("f64.safetensors"), safetensors_bytes(sd, {"layer1.0.bn1.weight": "F64"}))),
                ["layer1.0.bn1.weight", "F64"], output=y)

        c.error("run: weights with dtype I64",
                run(write(P("i64.safetensors"), safetensors_bytes(sd, {"conv1.weight": "I64"}))),
                ["conv1.weight", "I64"], output=y)

        w = dict(sd)
        w["layer2.0.bn1.running_var"] = sd["layer2.0.bn1.running_var"].copy()
        w["layer2.0.bn1.running_var"][3] = np.nan
        c.error("run: weights holding a NaN", run(write(P("nan.safetensors"), safetensors_bytes(w))),
                ["layer2.0.bn1.running_var", "non-finite", "element 3"], output=y)

        raw = open(good, "rb").read()
        c.success("run: F16 weights", run(write(P("f16.safetensors"), safetensors_bytes(sd, {k: "F16" for k in sd}))),
                  output=y)
        c.success("run: weights with __metadata__",
                  run(write(P("meta.safetensors"), safetensors_bytes(sd, header_extra={"__metadata__": {"format": "pt"}}))),
                  output=y)

        c.error("run: truncated weights file", run(write(P("truncated.safetensors"), raw[: len(raw) // 2])),
                ["truncated.safetensors"], output=y)
        c.error("run: weights file of 5 bytes", run(write(P("tiny.safetensors"), raw[:5])),
                ["tiny.safetensors"], output=y)
        c.error("run: empty weights file", run(write(P("empty.safetensors"), b"")),
                ["empty.safetensors"], output=y)

        hlen = struct.unpack("<Q", raw[:8])[0]
        garbage = raw[:8] + b"{\"conv1.weight\": [not json" + b" " * (hlen - 25) + raw[8 + hlen:]
        c.error("run: garbage header", run(write(P("garbage.safetensors"), garbage)),
                ["garbage.safetensors"], output=y)
        c.error("run: not a safetensors file at all",
                run(write(P("text.safetensors"), b"this is not a weights file, just some text\n" * 10)),
                ["text.safetensors"], output=y)
        c.error("run: header length larger than the file",
                run(write(P("hlen.safetensors"), struct.pack("<Q", len(raw) * 4) + raw[8:])),
                ["hlen.safetensors"], output=y)
        c.error("run: header length 2^63",
                run(write(P("hlen63.safetensors"), struct.pack("<Q", 1 << 63) + raw[8:])),
                ["hlen63.safetensors"], output=y)
        bad_offsets = safetensors_bytes(sd, header_extra={
            "extra.offsets": {"dtype": "F32", "shape": [4], "data_offsets": [len(raw), len(raw) + 16]}})
        c.error("run: data offsets past the end of the file",
                run(write(P("offsets.safetensors"), bad_offsets), x, "--allow-extra-weights"),
                ["offsets.safetensors"], output=y)

        c.error("run: data_offsets that disagree with the shape",
                run(write(P("size.safetensors"), edit_header(raw, lambda h: h["conv1.weight"]["data_offsets"].__setitem__(
                    1, h["conv1.weight"]["data_offsets"][1] - 4)))),
                ["size.safetensors", "conv1.weight", "[16, 3, 3, 3]"], output=y)
        c.error("run: a negative dimension",
                run(write(P("negative.safetensors"), edit_header(raw, lambda h: h["fc.bias"].__setitem__("shape", [-10])))),
                ["negative.safetensors", "fc.bias"], output=y)
        c.error("run: a duplicate key", run(write(P("duplicate.safetensors"), duplicate_key(raw, "conv1.weight"))),
                ["duplicate.safetensors", "conv1.weight", "duplicate"], output=y)

        w = dict(sd)
        w["layer9.0.conv1.weight"] = np.zeros((4, 4, 3, 3), np.float32)
        extra = write(P("extra.safetensors"), safetensors_bytes(w))
        c.error("run: an extra key", run(extra), ["layer9.0.conv1.weight"], output=y)
        c.success("run: an extra key with --allow-extra-weights", run(extra, x, "--allow-extra-weights"), output=y)
        w = dict(sd)
        w["layer1.0.bn1.num_batches_tracked"] = np.array(7, np.float32)
        c.success("run: num_batches_tracked is ignored", run(write(P("nbt.safetensors"), safetensors_bytes(w))),
                  output=y)

        c.error("run: missing weights file", run(P("no_such.safetensors")), ["no_such.safetensors"], output=y)
        c.error("run: weights path is a directory", run(tmp), [tmp], output=y)

        # --- input tensors --------------------------------------------------------------------
        x3 = write_npy(P("x3d.npy"), rng.randn(3, 32, 32).astype(np.float32))
        c.error("run: 3-D input", run(good, x3), ["x3d.npy"], output=y)
        x0 = write_npy(P("x0.npy"), np.zeros((0, 3, 32, 32), np.float32))
        c.error("run: input with N = 0", run(good, x0), ["x0.npy"], output=y)
        x4 = write_npy(P("x4c.npy"), rng.randn(1, 4, 32, 32).astype(np.float32))
        # A 4-channel cifar_resnet20 is a valid network, so this generates it; its conv1 then
        # wants [16, 4, 3, 3] and the 3-channel weights do not fit.
        c.error("run: 4-channel input with 3-channel weights", run(good, x4),
                ["conv1.weight", "[16, 3, 3, 3]", "[16, 4, 3, 3]"], output=y)
        x64 = write_npy(P("x64.npy"), rng.randn(1, 3, 32, 32).astype(np.float64))
        c.error("run: float64 input", run(good, x64), ["x64.npy", "float"], output=y)
        xi = write_npy(P("xint.npy"), rng.randint(0, 255, (1, 3, 32, 32)).astype(np.uint8))
        c.error("run: uint8 input", run(good, xi), ["xint.npy"], output=y)
        xf = write_npy(P("xfortran.npy"), np.asfortranarray(rng.randn(1, 3, 32, 32).astype(np.float32)))
        c.error("run: Fortran-order input", run(good, xf), ["xfortran.npy"], output=y)
        c.error("run: missing input file", run(good, P("no_such.npy")), ["no_such.npy"], output=y)
        c.error("run: input that is not a .npy", run(good, write(P("text.npy"), b"1,2,3\n4,5,6\n")),
                ["text.npy"], output=y)
        npy = open(x, "rb").read()
        c.error("run: truncated .npy", run(good, write(P("trunc.npy"), npy[: len(npy) - 100])), ["trunc.npy"],
                output=y)
        c.error("run: output is a folder", ["run", NET, "--weights", good, "--input", x, "--output", tmp], [tmp])
        c.error("run: output into a missing folder",
                ["run", NET, "--weights", good, "--input", x, "--output", P("no/such/dir/y.npy")],
                ["no/such/dir/y.npy"])

        # --- run options ----------------------------------------------------------------------
        c.error("run: no --weights", ["run", NET, "--input", x, "--output", y], ["--weights"], output=y)
        c.error("run: no network", ["run", "--weights", good, "--input", x, "--output", y], ["network"], output=y)
        c.error("run: unknown network", run(good)[:1] + ["resnet19"] + run(good)[2:], ["resnet19"], output=y)
        c.error("run: --classes 0", run(good, x, "--classes", "0"), ["--classes"], output=y)
        c.error("run: --threads 0", run(good, x, "--threads", "0"), ["--threads"], output=y)
        c.error("run: --target garbage", run(good, x, "--target", "garbage-os-cpu"), ["garbage-os-cpu"], output=y)
        c.error("run: --schedule bogus", run(good, x, "--schedule", "bogus"), ["bogus"], output=y)

        # --- generate -------------------------------------------------------------------------
        out = P("gen")
        c.error("generate: unknown network", ["generate", "resnet19", "--out", out], ["resnet19"])
        c.error("generate: --input 3x0x32", ["generate", NET, "--out", out, "--input", "3x0x32"],
                ["--input", "height", "0"])
        c.error("generate: --input 3xfoox32", ["generate", NET, "--out", out, "--input", "3xfoox32"],
                ["--input", "foo"])
        c.error("generate: --input 3x32", ["generate", NET, "--out", out, "--input", "3x32"], ["--input", "3x32"])
        c.error("generate: --input -3x32x32", ["generate", NET, "--out", out, "--input", "-3x32x32"], ["--input"])
        c.error("generate: --input with 1 channel for a torchvision network",
                ["generate", "resnet18", "--out", out, "--input", "1x64x64"], ["resnet18", "3 input channels"])
        c.error("generate: --classes foo", ["generate", NET, "--out", out, "--classes", "foo"], ["--classes", "foo"])
        c.error("generate: depth not 6n+2", ["generate", "cifar_resnet21", "--out", out], ["21", "6n+2"])
        c.error("generate: preact depth not 6n+2", ["generate", "preact_resnet100", "--out", out], ["100", "6n+2"])
        c.error("generate: --target garbage", ["generate", NET, "--out", out, "--target", "garbage-os-cpu"],
                ["--target", "garbage-os-cpu"])
        c.error("generate: --target empty", ["generate", NET, "--out", out, "--target", ""], ["--target"])
        if not any(os.environ.get(v) for v in ("ANDROID_NDK_ROOT", "ANDROID_NDK_HOME", "RESGEN_CXX")):
            c.error("generate: --target arm-64-android without the NDK",
                    ["generate", NET, "--out", out, "--target", "arm-64-android"], ["arm-64-android", "ANDROID_NDK_ROOT"])
        c.error("generate: --target for another OS", ["generate", NET, "--out", out, "--target", "x86-64-windows"],
                ["x86-64-windows", "Linux and Android"])
        c.error("run: --target arm-64-android (cannot run here)", run(good, x, "--target", "arm-64-android"),
                ["arm-64-android"], output=y)
        c.error("generate: CPU autoscheduler on a GPU target",
                ["generate", NET, "--out", out, "--target", "x86-64-linux-opencl", "--schedule", "auto:Adams2019"],
                ["auto:Adams2019", "x86-64-linux-opencl", "auto:Anderson2021"])
        c.error("generate: GPU and CPU targets in one library",
                ["generate", NET, "--out", out, "--target", "x86-64-linux-opencl,x86-64-linux"],
                ["x86-64-linux-opencl,x86-64-linux", "same GPU API"])
        c.error("generate: Vulkan target", ["generate", NET, "--out", out, "--target", "x86-64-linux-vulkan"],
                ["x86-64-linux-vulkan", "Vulkan"])
        c.error("generate: Metal target", ["generate", NET, "--out", out, "--target", "x86-64-linux-metal"],
                ["x86-64-linux-metal", "cuda and opencl"])
        c.error("generate: --schedule bogus", ["generate", NET, "--out", out, "--schedule", "bogus"],
                ["--schedule", "bogus"])
        c.error("generate: --schedule auto:Nope", ["generate", NET, "--out", out, "--schedule", "auto:Nope"],
                ["--schedule", "Nope"])
        c.error("generate: --embed-weights without --weights", ["generate", NET, "--out", out, "--embed-weights"],
                ["--embed-weights", "--weights"])
        c.error("generate: --weights with a missing key",
                ["generate", NET, "--out", out, "--weights", P("missing.safetensors")],
                ["missing.safetensors", missing_key])
        c.error("generate: --weights with a wrong shape",
                ["generate", NET, "--out", out, "--weights", P("shape.safetensors")],
                ["shape.safetensors", "layer3.0.conv1.weight", "[64, 32, 3, 1]", "[64, 32, 3, 3]"])
        c.error("generate: --weights of another network",
                ["generate", "preact_resnet20", "--out", out, "--weights", good],
                ["good.safetensors", "preact_resnet20"])
        c.error("generate: --weights for other classes",
                ["generate", NET, "--out", out, "--classes", "100", "--weights", good],
                ["good.safetensors", "fc.weight", "[100, 64]"])
        c.error("generate: --weights missing file", ["generate", NET, "--out", out, "--weights", P("no_such.st")],
                ["no_such.st"])
        c.error("generate: --weights garbage", ["generate", NET, "--out", out, "--weights", P("garbage.safetensors")],
                ["garbage.safetensors"])
        c.error("generate: no --out", ["generate", NET], ["--out"])
        blocker = write(P("a_file"), b"x")
        c.error("generate: --out under a file", ["generate", NET, "--out", os.path.join(blocker, "sub")],
                ["a_file"])

        # --- the command line itself ----------------------------------------------------------
        c.error("unknown subcommand", ["frobnicate"], ["frobnicate"])
        c.error("unknown option (generate)", ["generate", NET, "--out", out, "--frobnicate"], ["--frobnicate"])
        c.error("unknown option (run)", run(good, x, "--frobnicate"), ["--frobnicate"], output=y)
        c.error("unknown option (describe)", ["describe", NET, "--bogus=1"], ["--bogus"])
        c.error("unknown option (list)", ["list", "--bogus"], ["--bogus"])
        c.error("option without its value", ["describe", NET, "--input"], ["--input"])
        c.error("switch with a value", ["generate", NET, "--out", out, "--embed-weights=yes"], ["--embed-weights"])
        c.error("describe: unknown network", ["describe", "resnet19"], ["resnet19"])
        c.error("describe: two networks", ["describe", NET, "resnet18"], ["network"])
        c.error("describe: --input 3x0x32", ["describe", NET, "--input", "3x0x32"], ["--input"])
        c.error("list: an argument", ["list", "extra"], ["list"])
        for sub in ("list", "describe", "generate", "run"):
            c.success(f"{sub} --help exits 0", [sub, "--help"], stdout_has=["usage: resgen " + sub])
            c.success(f"{sub} -h exits 0", [sub, "-h"], stdout_has=["usage: resgen " + sub])
        c.success("resgen --help exits 0", ["--help"], stdout_has=["usage: resgen"])
        c.success("describe works", ["describe", NET], stdout_has=["layer3.2.conv2", "total:"])

        print(f"{c.count - len(c.failures)} of {c.count} checks passed")
        if c.failures:
            print("failed: " + ", ".join(c.failures))
        return 1 if c.failures else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_npy(path, a):
    np.save(path, a)
    return path


if __name__ == "__main__":
    sys.exit(main())
