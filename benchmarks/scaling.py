"""Data-parallel scaling of the sampling pipeline over 1..8 devices.

On CPU the devices are simulated (``--xla_force_host_platform_device_count``), so they
share the machine's real cores: expect no gain beyond the number of physical cores. On a
GPU/TPU host the real local devices are used. For each device count it prints the pipeline
throughput, the per-device throughput and the scaling efficiency rate_k / (k * rate_1),
and checks that every device count gives the same record. The first line names the device
(``device_kind``), so a run on an accelerator can be told from a CPU run.

    .venv/bin/python benchmarks/scaling.py [--samples 2097152] [--max-devices 8]
"""

from __future__ import annotations

import argparse
import os
import sys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2 * 2**20)
    ap.add_argument("--chunk", type=int, default=8 * 4096, help="rows per device per step")
    ap.add_argument("--max-devices", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--precision", default="float32", choices=("float32", "float64"))
    args = ap.parse_args()
    if "jax" not in sys.modules and "--xla_force_host_platform_device_count" not in os.environ.get(
        "XLA_FLAGS", ""
    ):
        # Only affects the CPU platform; accelerators keep their real devices.
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "")
            + f" --xla_force_host_platform_device_count={args.max_devices}"
        )
    # Imported after XLA_FLAGS is set: the flag is read when JAX starts.
    import jax

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from sampling import pipeline, reference_net

    import tern_jax as tj

    devs = jax.devices()
    print(
        f"device: {devs[0].device_kind} ({devs[0].platform}), {len(devs)} devices, "
        f"{os.cpu_count()} CPU cores; N={args.samples:,}, chunk {args.chunk:,}/device, "
        f"{args.precision}, best of {args.repeat}; load {os.getloadavg()[0]:.2f}"
    )
    net = reference_net(all_relu=False)
    dom = tj.Box(-1.0, 1.0)
    print(f"{'devices':>8}{'samples/s':>14}{'per device/s':>15}{'efficiency':>12}")
    base, ref = None, None
    k = 1
    while k <= min(args.max_devices, len(devs)):
        rate, _, rec = pipeline(net, dom, args.samples, args.chunk, args.repeat,
                                devices=devs[:k], precision=args.precision)  # fmt: skip
        base = base or rate
        if ref is None:
            ref = rec.figures()
        same = "same record" if rec.figures() == ref else "RECORD DIFFERS"
        print(f"{k:>8}{rate:>14,.0f}{rate / k:>15,.0f}{rate / (k * base):>12.2f}  {same}")
        k *= 2


if __name__ == "__main__":
    main()
