#!/usr/bin/env python3
"""Writes series.csv: the synthetic tick series both SDKs' sample strategies are replayed
over (see README.md). Deterministic (its own LCG, integer arithmetic): running it again
writes the same file.

    python3 vectors/replay/make_series.py
"""

from pathlib import Path

# Three of the samples' instruments with their starting prices in paise.
INSTRUMENTS = [(738561, 250_000), (81153, 80_000), (2714625, 15_000)]
TICKS_EACH = 400
START_US = 1_756_442_700_000_000  # 2025-08-29 04:45:00 UTC
STEP_US = 250_000

state = 20251206


def rand(n: int) -> int:
    """0..n-1 from a 64-bit LCG (Knuth's MMIX constants), high bits."""
    global state
    state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
    return (state >> 33) % n


def main() -> None:
    prices = [p for _, p in INSTRUMENTS]
    drift = [0, 0, 0]
    lines = ["instrument_token,last_price,timestamp_us"]
    t = START_US
    for i in range(TICKS_EACH * len(INSTRUMENTS)):
        k = rand(len(INSTRUMENTS))
        if rand(60) == 0:
            # A new regime: calm, a run up or a run down (in basis points a tick).
            drift[k] = (0, 0, 0, 6, -6, 12, -12)[rand(7)]
        p = prices[k]
        step = p * (drift[k] + rand(31) - 15) // 10_000
        prices[k] = max(p + step, 100)
        price = prices[k]
        lines.append(f"{INSTRUMENTS[k][0]},{price // 100}.{price % 100:02d},{t}")
        t += STEP_US
    (Path(__file__).parent / "series.csv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
